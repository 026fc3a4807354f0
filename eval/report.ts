import type { ScenarioReport, Summary } from './metrics.js';

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
const num = (x: number | null, d = 1): string => (x === null ? '-' : x.toFixed(d));

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (r: readonly string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt)].join('\n');
}

/** The readable table: one row per scenario, then the overall figures and a row per fault kind. */
export function formatReport(reports: readonly ScenarioReport[], s: Summary): string {
  const rows = reports.map((r) => {
    const ranks = r.per_fault.map((f) => (f.rank === null ? (f.detected ? '>3' : 'miss') : `#${f.rank}`)).join(',');
    return [
      r.name,
      String(r.raw_records),
      String(r.raw_alerts),
      `${r.detected}/${r.faults}`,
      String(r.incidents),
      String(r.false_incidents),
      ranks,
    ];
  });
  const out = [
    table(['scenario', 'records', 'alerts', 'found', 'incidents', 'false', 'root rank'], rows),
    '',
    `faults ${s.faults} in ${s.scenarios} scenarios`,
    `fault recall            ${pct(s.fault_recall)}`,
    `AC@1 / AC@3             ${pct(s.ac_at_1)} / ${pct(s.ac_at_3)}   (final state; over all faults; a missed fault is a miss)`,
    `AC@1 / AC@3 at end      ${pct(s.ac_at_1_at_end)} / ${pct(s.ac_at_3_at_end)}   (state at the end of each fault window: what on-call saw)`,
    `root-cause kind         ${s.kind_accuracy === null ? 'n/a' : pct(s.kind_accuracy)}   (of roots in the top 3 whose fault kind maps to an output kind)`,
    `incidents per fault     ${num(s.incidents_per_fault, 2)}   (found faults; ${s.impure_incidents} incidents fall in more than one fault's window)`,
    `false incidents / day   ${num(s.false_incidents_per_day, 2)}   (${s.false_incidents} of ${s.incidents} incidents)`,
    `noise reduction         alerts->incidents ${pct(s.noise_reduction_alerts)}, records->bundles ${pct(s.noise_reduction_records)}`,
    `bundle size             mean ${Math.round(s.bundle_bytes_mean)} B (~${Math.round(s.bundle_tokens_mean)} tokens), max ${s.bundle_bytes_max} B`,
    `detection delay         p50 ${num(s.detection_delay_p50_s, 0)} s, p95 ${num(s.detection_delay_p95_s, 0)} s`,
    '',
    table(
      ['fault kind', 'faults', 'recall', 'AC@1', 'AC@3', 'AC@1 end', 'AC@3 end'],
      Object.entries(s.by_kind).map(([k, v]) => [k, String(v.faults), pct(v.recall), pct(v.ac_at_1), pct(v.ac_at_3), pct(v.ac_at_1_at_end), pct(v.ac_at_3_at_end)]),
    ),
  ];
  return `${out.join('\n')}\n`;
}
