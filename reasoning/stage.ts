import { z } from 'zod';
import { Counters } from '../core/counters.js';
import { LruMap } from '../core/lru.js';
import type { Emitter, Stage, StageDeps, StageFactory } from '../core/stage.js';
import type { IncidentBundle, IncidentOutput } from '../schemas/index.js';
import { RankerConfig } from './config.js';
import { cited, evidenceIndex, incidentTitle } from './evidence.js';
import { rankRootCauses } from './ranker.js';
import { incidentSeverity, severityFacts } from './severity.js';

export const ReasoningConfig = z.strictObject({
  ranker: RankerConfig.default(RankerConfig.parse({})),
  /** Incidents whose last output is remembered to suppress repeats; beyond it the oldest is forgotten (it may repeat once). */
  maxTracked: z.number().int().positive().default(50_000),
});
export type ReasoningConfig = z.infer<typeof ReasoningConfig>;

/** What makes two outputs of one incident the same change: everything but the update time. */
function changeKey(o: IncidentOutput): string {
  return JSON.stringify([o.status, o.services, o.counts, o.root_causes]);
}

/**
 * Bundle in, incident output out. Runs the ranker on every bundle update and emits a line only when the
 * incident's visible state changed. The ranker needs no I/O, so it never delays the first output.
 */
export class ReasoningStage implements Stage<IncidentBundle, IncidentOutput> {
  readonly name = 'reasoning';
  readonly counters = new Counters();
  /** Last visible state per incident; bounded, least recently updated forgotten first (O(1) at the bound). */
  private readonly last: LruMap<string, string>;

  constructor(private readonly cfg: ReasoningConfig) {
    this.last = new LruMap(cfg.maxTracked);
  }

  process(b: IncidentBundle, out: Emitter<IncidentOutput>): void {
    const root_causes = rankRootCauses(b, this.cfg.ranker);
    const output: IncidentOutput = {
      incident_id: b.incident_id,
      opened_at: b.opened_at,
      updated_at: b.updated_at,
      status: b.status,
      services: b.services,
      counts: b.counts,
      root_causes,
      reasoner: 'ranker',
    };
    const key = changeKey(output);
    if (this.last.peek(b.incident_id) === key) {
      this.counters.drop('unchanged');
      return;
    }
    this.last.set(b.incident_id, key);
    // Derived from the causes, so resolved only for outputs that are published.
    out.emit({
      ...output,
      title: incidentTitle(root_causes, b.services),
      severity: incidentSeverity(severityFacts(b), root_causes),
      evidence: cited(evidenceIndex(b), root_causes),
    });
  }
}

export const reasoningFactory: StageFactory<ReasoningConfig, IncidentBundle, IncidentOutput> = {
  type: 'ranker',
  configSchema: ReasoningConfig,
  defaultConfig: () => ReasoningConfig.parse({}),
  create: (config: ReasoningConfig, _deps: StageDeps) => new ReasoningStage(config),
};
