import type { IncidentDetail, SeriesPlot } from './detail.js';

const BLOCKS = '▁▂▃▄▅▆▇█';
const iso = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
const pct = (x: number): string => `${Math.round(x * 100)}%`;
const fmt = (x: number): string => (Math.abs(x) >= 1000 ? Math.round(x).toLocaleString('en-US') : String(Math.round(x * 1000) / 1000));
/** Control characters in telemetry would move the cursor or recolour a terminal: shown as ␛-style escapes instead. */
const safe = (s: string): string => s.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);

/** A series as one line of blocks (observed), and whether each point left the expected band. */
function spark(p: SeriesPlot): string {
  const unit = p.unit ? ` ${p.unit}` : '';
  if (p.points.length < 2) return `expected ${fmt(p.expected)}${unit}, observed ${fmt(p.observed)}${unit}`;
  const vals = p.points.map((q) => q.value);
  const lo = Math.min(...vals);
  const hi = Math.max(...vals);
  const line = vals.map((v) => BLOCKS[hi - lo < 1e-12 ? 0 : Math.round(((v - lo) / (hi - lo)) * (BLOCKS.length - 1))]).join('');
  const out = p.points.filter((q) => q.lo !== undefined && q.hi !== undefined && (q.value < q.lo || q.value > q.hi)).length;
  const first = p.points[0]!;
  const last = p.points[p.points.length - 1]!;
  return `${line}  ${fmt(lo)}..${fmt(hi)}${unit} from ${iso(first.ts)} to ${iso(last.ts)}; expected ${fmt(p.expected)}${unit}, observed ${fmt(p.observed)}${unit}${out ? `; ${out} points outside the expected band` : ''}`;
}

/** `nightshift show`: what the incident page shows, as text. */
export function renderDetailText(d: IncidentDetail, maxSignals = 20): string {
  const i = d.incident;
  const out: string[] = [];
  out.push(`${d.title}${d.severity ? `  [${d.severity}]` : ''}`);
  out.push(`${i.incident_id} · ${i.status} · opened ${iso(i.opened_at)} · updated ${iso(i.updated_at)}`);
  out.push(`${i.counts.alerts} alerts · ${i.counts.signals} signals · ${i.counts.events} records · services: ${i.services.join(', ')}`);
  out.push('', 'Top root causes');
  if (d.causes.length === 0) out.push('  none named yet');
  for (const c of d.causes) {
    out.push(`  #${c.rank} ${c.service}  ${c.kind}  ${pct(c.confidence)}`);
    for (const line of safe(c.explanation).split('\n')) out.push(`     ${line}`);
    for (const e of c.evidence) {
      out.push(`     - [${e.type.replace('_', ' ')}]${e.service ? ` ${e.service}:` : ''} ${safe(e.text)}`);
      if (e.facts.length) out.push(`       ${e.facts.map(([k, v]) => `${k}: ${safe(v)}`).join(' · ')}`);
      for (const l of e.links) out.push(`       ${l.label}: ${safe(l.url)}`);
    }
  }
  if (d.plots.length) {
    out.push('', 'Key series');
    for (const p of d.plots) out.push(`  ${p.service} ${safe(p.name)}`, `     ${spark(p)}`);
  }
  out.push('', `Timeline (${d.timeline.length} signals${d.timeline.length > maxSignals ? `, first ${maxSignals}` : ''})`);
  for (const t of d.timeline.slice(0, maxSignals)) out.push(`  ${iso(t.ts)}  ${t.peer ? `${t.service} → ${t.peer}` : t.service}  ${t.type}  ${fmt(t.score)}  ${safe(t.text)}`);
  out.push('', 'Topology');
  if (d.topology.edges.length === 0) out.push(`  ${d.topology.nodes.map((n) => n.service).join(', ') || 'none'}`);
  for (const e of d.topology.edges) out.push(`  ${e.caller} → ${e.callee}${e.anomalous ? '  (anomalous)' : ''}`);
  const root = d.topology.nodes.find((n) => n.role === 'root');
  if (root) out.push(`  root: ${root.service}`);
  out.push('', 'Tickets');
  if (d.tickets.length === 0) out.push('  none');
  for (const t of d.tickets) out.push(`  ${t.integration} ${t.key} ${t.url} (${t.created ? 'opened' : 'found'} ${iso(t.opened_at)})`);
  out.push('', 'Feedback');
  if (d.feedback.length === 0) out.push('  none yet');
  for (const f of d.feedback) out.push(`  ${iso(f.at)} ${f.actor} (${f.source}): ${f.kind}${f.service ? ` → ${f.service} ${f.root_kind}` : ''}${f.note ? ` — ${safe(f.note)}` : ''}`);
  return `${out.join('\n')}\n`;
}
