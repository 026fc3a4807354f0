import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEmbedded } from '../pipeline/build.js';
import { loadConfig, type NightshiftConfig } from '../pipeline/config.js';
import { Counters } from '../core/counters.js';
import type { RawRecord } from '../core/raw.js';
import type { Stage } from '../core/stage.js';
import type { IncidentOutput } from '../schemas/index.js';
import { simulate, type SimulationResult } from '../sim/index.js';
import { createTicketingSink, incidentSeverity, parseVersion, ticketDigest, type TicketingConfig, type TicketingSink } from '../sinks/ticketing/index.js';
import { allConfig, startFakes, testDeps, type Fakes } from './fakes/all.js';

/** Records the outputs it passes on (what the NDJSON sink would write next to the tickets). */
class Tee implements Stage<IncidentOutput, never> {
  readonly name = 'tee';
  readonly counters = new Counters();
  readonly items: IncidentOutput[] = [];
  constructor(readonly inner: TicketingSink) {}
  async process(o: IncidentOutput): Promise<void> {
    this.items.push(o);
    await this.inner.process(o);
  }
  flush(): Promise<void> {
    return this.inner.flush();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

async function* raw(records: readonly RawRecord[]): AsyncGenerator<RawRecord> {
  for (const r of records) yield r;
}

let f: Fakes;
let cfg: NightshiftConfig;
let records: RawRecord[] = [];
let sim: SimulationResult;
beforeAll(async () => {
  f = await startFakes();
  cfg = await loadConfig(undefined, {});
  const s = simulate({ seed: 4, services: 12, hours: 3, faults: 2 });
  let line = 0;
  records = [...s.records].map((r) => ({ topic: r.topic, key: r.key ?? null, payload: r.payload, ts: r.ts, source: { line: ++line } }));
  sim = s.result();
});
afterAll(async () => {
  await f.close();
});

async function runOnce(tcfg: TicketingConfig, input: readonly RawRecord[]): Promise<{ outputs: IncidentOutput[]; sink: TicketingSink; deadLetters: number }> {
  const deps = testDeps();
  const sink = createTicketingSink(tcfg, deps);
  const tee = new Tee(sink);
  const p = buildEmbedded(cfg, { log: deps.log, deadLetters: deps.deadLetters, topology: sim.topology }, tee);
  await p.run(raw(input));
  return { outputs: tee.items, sink, deadLetters: deps.deadLetters.items.filter((d) => d.stage === 'sink-ticketing').length };
}

describe('ticketing behind the embedded pipeline, across a restart', () => {
  it('a stop mid-stream and a replay from the start leave one ticket per incident, with its updates', async () => {
    const tcfg = allConfig(f);
    // First life: the pipeline stops halfway through the stream.
    const first = await runOnce(tcfg, records.slice(0, Math.floor(records.length / 2)));
    const ticketsAfterFirst = f.sn.records.size;
    expect(ticketsAfterFirst).toBeGreaterThan(0);

    // Second life: a fresh process replays everything from the start (no offsets survived).
    const second = await runOnce(tcfg, records);
    expect(first.deadLetters + second.deadLetters).toBe(0);

    const byId = new Map<string, IncidentOutput[]>();
    for (const o of second.outputs) byId.set(o.incident_id, [...(byId.get(o.incident_id) ?? []), o]);
    let ticketed = 0;
    for (const [id, outs] of byId) {
      const firstQualifying = outs.findIndex((o) => incidentSeverity(o, tcfg.severity) !== 'info' && incidentSeverity(o, tcfg.severity) !== 'warning');
      const shouldOpen = firstQualifying >= 0 && outs[firstQualifying]!.status === 'open';
      const sn = f.sn.byCorrelation(id);
      expect(sn.length, id).toBe(shouldOpen ? 1 : 0);
      expect(f.jira.withLabel(`nightshift-${id}`).length, id).toBe(shouldOpen ? 1 : 0);
      expect(f.pd.byKey(id).length, id).toBe(shouldOpen ? 1 : 0);
      expect(f.hook.incidents.has(id), id).toBe(shouldOpen);
      if (!shouldOpen) continue;
      ticketed++;
      const last = outs[outs.length - 1]!;
      const rec = sn[0]!;
      // The ticket ends in the incident's last state, and no update was written twice.
      expect(parseVersion(rec.correlation_display)?.digest, id).toBe(ticketDigest(last, incidentSeverity(last, tcfg.severity)));
      expect(rec.state === '6', id).toBe(last.status === 'resolved');
      expect(new Set(rec.work_notes).size, id).toBe(rec.work_notes.length);
      const issue = f.jira.withLabel(`nightshift-${id}`)[0]!;
      expect(issue.comments.length, id).toBe(rec.work_notes.length);
      expect(f.jira.statusName(issue) === 'Done', id).toBe(last.status === 'resolved');
      expect(f.pd.byKey(id)[0]!.status === 'resolved', id).toBe(last.status === 'resolved');
    }
    expect(ticketed).toBeGreaterThan(0);
    // Every create was needed: one per ticketed incident, across both lives.
    expect(f.sn.http.count('POST', /incident$/)).toBe(ticketed);
    expect(f.jira.http.count('POST', /issue$/)).toBe(ticketed);
    // The second life found the first life's tickets: it skipped what they already had and wrote only what was new.
    const s2 = second.sink.stats().servicenow!;
    expect((s2.dropped.stale ?? 0) + (s2.dropped.unchanged ?? 0) + (s2.dropped.ticket_resolved ?? 0)).toBeGreaterThan(0);
    expect(s2.sent).toBeGreaterThan(0);
  });
});
