import { rawPositionId, type RawRecord } from '../core/raw.js';
import { topicKind, type IngestConfig } from './config.js';
import { parseAlerts } from './formats/alerts.js';
import { parseChange } from './formats/changes.js';
import { Collector, parseJsonObject, type ParseError, type ParseResult } from './formats/collect.js';
import { parseLogs } from './formats/logs.js';
import { parseMetrics } from './formats/metrics.js';
import { parseTraces } from './formats/traces.js';

export type { ParseError, ParseResult };

const NO_DROPS: Readonly<Record<string, number>> = Object.freeze({});

function whole(code: ParseError['code'], message: string): ParseResult {
  return { events: [], errors: [{ code, message }], badEntries: 1, dropped: NO_DROPS };
}

/** UTF-8 size above `max`? Counting bytes is O(n), so the cheap bounds on the UTF-16 length decide most records. */
function tooLarge(payload: string, max: number): number | undefined {
  if (payload.length * 3 <= max) return undefined; // a UTF-16 unit is at most 3 UTF-8 bytes
  if (payload.length > max) return payload.length; // at least 1 byte per unit; a lower bound is enough to report
  const bytes = Buffer.byteLength(payload, 'utf8');
  return bytes > max ? bytes : undefined;
}

/**
 * One raw record -> its events and what was wrong with it. Pure and deterministic: ids derive from the record's
 * position, times from the payload (or the record timestamp as a fallback), never from the clock. Never throws.
 *
 * Batches (OTLP exports, Alertmanager webhooks): good entries are emitted and each bad one yields an error naming
 * its path, so a partial batch gives both events and errors. The stage turns all errors of a record into ONE dead
 * letter carrying the whole original payload.
 */
export function parseRecord(rec: RawRecord, cfg: IngestConfig): ParseResult {
  const kind = topicKind(rec.topic, cfg);
  if (kind === undefined) {
    return whole('UNKNOWN_TOPIC', `topic ${JSON.stringify(rec.topic)} is not one of the configured topics (${Object.values(cfg.topics).join(', ')})`);
  }
  const size = tooLarge(rec.payload, cfg.maxRecordBytes);
  if (size !== undefined) return whole('RECORD_TOO_LARGE', `payload of at least ${size} bytes exceeds maxRecordBytes ${cfg.maxRecordBytes}`);
  const c = new Collector(rawPositionId(rec), rec.ts, cfg);
  try {
    if (kind === 'logs') parseLogs(rec.payload, rec.key, c);
    else {
      const root = parseJsonObject(rec.payload);
      if (kind === 'alerts') parseAlerts(root, c);
      else if (kind === 'metrics') parseMetrics(root, c);
      else if (kind === 'traces') parseTraces(root, c);
      else parseChange(root, c);
    }
  } catch (e) {
    c.failFrom(e, '');
  }
  return c.result();
}
