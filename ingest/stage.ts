import { Counters } from '../core/counters.js';
import { makeDeadLetter } from '../core/deadletter.js';
import { toNightshiftError } from '../core/errors.js';
import type { RawRecord } from '../core/raw.js';
import type { Emitter, Stage, StageDeps, StageFactory } from '../core/stage.js';
import type { Event } from '../schemas/events.js';
import { IngestConfig, defaultIngestConfig } from './config.js';
import { parseRecord, type ParseResult } from './parse.js';
import { scannerFor } from './redact.js';

/** One dead-letter message for all errors of a record: the first error's text, or a list for a partial batch. */
export function deadLetterMessage(r: ParseResult): string {
  const [first] = r.errors;
  if (!first) return '';
  if (r.errors.length === 1 && r.events.length === 0) return first.message;
  const head = `${r.badEntries} bad ${r.badEntries === 1 ? 'entry' : 'entries'}, ${r.events.length} emitted`;
  return `${head}: ${r.errors.map((e) => `[${e.code}] ${e.message}`).join('; ')}`;
}

/**
 * Raw records -> normalized events. A record with any error yields exactly one dead letter (stage 'ingest',
 * code of its first error, the whole original payload) and one `dead_letter:<CODE>` drop, even when some of its
 * entries were good and emitted. Entries skipped on purpose are counted under their own reason.
 */
export class IngestStage implements Stage<RawRecord, Event> {
  readonly name = 'ingest';
  readonly counters = new Counters();

  constructor(
    private readonly cfg: IngestConfig,
    private readonly deps: StageDeps,
  ) {}

  process(rec: RawRecord, out: Emitter<Event>): void {
    let r: ParseResult;
    try {
      r = parseRecord(rec, this.cfg);
    } catch (e) {
      // parseRecord does not throw by design; this keeps a bug from taking the pipeline down.
      const err = toNightshiftError(e);
      r = { events: [], errors: [{ code: err.code, message: err.message }], badEntries: 1, dropped: {} };
    }
    for (const ev of r.events) out.emit(ev);
    for (const reason in r.dropped) this.counters.drop(reason, r.dropped[reason] ?? 0);
    const first = r.errors[0];
    if (!first) return;
    this.counters.drop(`dead_letter:${first.code}`);
    this.deps.deadLetters.write(
      makeDeadLetter(
        {
          stage: 'ingest',
          code: first.code,
          error: deadLetterMessage(r),
          topic: rec.topic,
          key: rec.key,
          source: rec.source,
          payload: rec.payload,
        },
        this.cfg.redact.enabled && this.cfg.redact.deadLetters ? scannerFor(this.cfg) : null,
      ),
    );
  }
}

export const ingestFactory: StageFactory<IngestConfig, RawRecord, Event> = {
  type: 'ingest',
  configSchema: IngestConfig,
  defaultConfig: defaultIngestConfig,
  create: (config, deps) => new IngestStage(config, deps),
};
