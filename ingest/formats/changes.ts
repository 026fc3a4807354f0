import { z } from 'zod';
import { ChangeKind, type ChangeEvent } from '../../schemas/events.js';
import { check, requireService, type Collector } from './collect.js';

/**
 * `{ts, service, kind, id, summary, author?}`. An unknown kind is a SCHEMA_MISMATCH, not 'other': a deploy
 * mislabelled as 'other' would hide the strongest root-cause evidence there is.
 */
const PlainChange = z.object({
  ts: z.union([z.number(), z.string()]).nullish(),
  service: z.string().nullish(),
  kind: z.enum(ChangeKind.options, {
    error: (iss) => `unknown change kind ${JSON.stringify(iss.input)}: expected one of ${ChangeKind.options.join(', ')}`,
  }),
  id: z.string().min(1),
  summary: z.string(),
  author: z.string().nullish(),
  version: z.string().max(128).nullish(),
});

export function parseChange(root: Record<string, unknown>, c: Collector): void {
  const p = check(PlainChange, root, '');
  const e: ChangeEvent = {
    kind: 'change',
    id: p.id,
    ts: c.time(p.ts, 'ts'),
    service: requireService(p.service, 'the change has no `service` field'),
    change_kind: p.kind,
    summary: p.summary,
  };
  if (p.author) e.author = p.author;
  if (p.version) e.version = p.version;
  c.emit(e);
}
