import { SECRET_KEY_RE, SecretScanner, secretMark } from '../core/redact/index.js';
import type { Event } from '../schemas/events.js';
import type { IngestConfig } from './config.js';

/**
 * Secrets leave telemetry here, at the trust boundary, before anything keeps, cuts or summarises the text: every
 * later copy (templates, bundles, the LLM prompt, tickets, ClickHouse rows) is made from the redacted event, so a
 * secret cannot survive into one of them by being cut in half (a PEM key losing its END line to a 300-character
 * summary) or restored from a placeholder. Irreversible: the event keeps `<redacted:RULE>` and nothing maps it back.
 */
const scanners = new WeakMap<IngestConfig['redact'], SecretScanner>();

export function scannerFor(cfg: IngestConfig): SecretScanner {
  let s = scanners.get(cfg.redact);
  if (!s) {
    s = new SecretScanner(cfg.redact);
    scanners.set(cfg.redact, s);
  }
  return s;
}

/** Label and annotation maps: a key that names a credential loses its whole value; other values are scanned. */
function redactMap(m: Record<string, string>, s: SecretScanner): Record<string, string> {
  let out: Record<string, string> | undefined;
  for (const k in m) {
    const v = m[k]!;
    const r = v !== '' && SECRET_KEY_RE.test(k) && !v.startsWith('<redacted:') ? secretMark('credential-label') : s.redact(v);
    if (r !== v) {
      out ??= { ...m };
      out[k] = r;
      if (r === secretMark('credential-label')) s.count('credential-label');
    }
  }
  return out ?? m;
}

/** Every text field of an event that comes from the producer, except the service name and hex ids. */
export function redactEvent(e: Event, s: SecretScanner): void {
  if (!s.enabled) return;
  switch (e.kind) {
    case 'log':
      e.message = s.redact(e.message);
      if (e.host !== undefined) e.host = s.redact(e.host);
      return;
    case 'alert':
      e.name = s.redact(e.name);
      e.summary = s.redact(e.summary);
      e.labels = redactMap(e.labels, s);
      if (e.annotations) e.annotations = redactMap(e.annotations, s);
      return;
    case 'span':
      e.name = s.redact(e.name);
      return;
    case 'metric':
      e.labels = redactMap(e.labels, s);
      return;
    case 'change':
      e.id = s.redact(e.id);
      e.summary = s.redact(e.summary);
      if (e.author !== undefined) e.author = s.redact(e.author);
      if (e.version !== undefined) e.version = s.redact(e.version);
      return;
  }
}
