/** A raw record as it arrives from a replay file or a Kafka topic, before ingest parses it. */
export interface RawRecord {
  readonly topic: string;
  readonly key: string | null;
  readonly payload: string;
  /** The Kafka record timestamp (ms), when the source has one: a fallback for payloads without a time. */
  readonly ts?: number;
  readonly source: { readonly line?: number; readonly partition?: number; readonly offset?: string };
}

/** A stable position id for a raw record, the root of the ids of every event derived from it. */
export function rawPositionId(r: RawRecord): string {
  if (r.source.partition !== undefined && r.source.offset !== undefined) return `${r.topic}-${r.source.partition}-${r.source.offset}`;
  return `${r.topic}-L${r.source.line ?? 0}`;
}
