import { z } from 'zod';
import { RootCauseKind } from '../../schemas/common.js';

/**
 * What the model must return. The JSON schema sent to the server is generated from this zod schema, so the two
 * cannot drift. Every field is required (OpenAI's strict mode wants that); "no runbook" is null.
 */
export const LlmNextStep = z.object({
  action: z.string().describe('One concrete action for the on-call engineer, imperative mood.'),
  runbook: z.string().nullable().describe('Id of a knowledge document from the prompt (e.g. RB-PG-OUTAGE), or null.'),
});
export type LlmNextStep = z.infer<typeof LlmNextStep>;

export const LlmCause = z.object({
  service: z.string().describe('A service named in the incident.'),
  kind: RootCauseKind,
  explanation: z.string().describe('One paragraph: what failed, how it propagated, which evidence shows it.'),
  confidence: z.number().describe('Probability in [0, 1] that this is the root cause; all causes sum to at most 1.'),
  evidence: z.array(z.string()).describe('Evidence ids copied exactly from the prompt.'),
  next_steps: z.array(LlmNextStep).max(5),
});
export type LlmCause = z.infer<typeof LlmCause>;

export const LlmAnswer = z.object({
  causes: z.array(LlmCause).max(3).describe('Up to three root-cause candidates, most likely first.'),
});
export type LlmAnswer = z.infer<typeof LlmAnswer>;

export const ANSWER_SCHEMA_NAME = 'root_cause_analysis';

/** The JSON schema of the answer, without the `$schema` key that some servers reject. */
export function answerJsonSchema(): Record<string, unknown> {
  const s = z.toJSONSchema(LlmAnswer) as Record<string, unknown>;
  delete s.$schema;
  return s;
}

/**
 * Lenient reading of one cause: weak models misspell types (a confidence as "0.7", one evidence id as a string).
 * Anything that cannot be read as the fields is left for the guard to reject; this only absorbs harmless shape
 * slips so that a good answer is not thrown away for them.
 */
const LooseStep = z.union([
  z.object({ action: z.string().max(4000), runbook: z.string().max(200).nullable().optional() }),
  z.string().max(4000).transform((action) => ({ action, runbook: null })),
]);
const LooseCause = z.object({
  service: z.string().max(256),
  kind: z.string().max(64),
  explanation: z.string().max(20_000).default(''),
  confidence: z.union([z.number(), z.string().regex(/^\s*[0-9.]+\s*$/).transform(Number)]).default(0),
  evidence: z.union([z.array(z.string().max(256)).max(200), z.string().max(256).transform((s) => [s])]).default([]),
  next_steps: z.array(LooseStep).max(50).default([]),
});
export type LooseCause = z.infer<typeof LooseCause>;
const LooseAnswer = z.object({ causes: z.array(z.unknown()).max(50) });

export type ParsedAnswer =
  | { readonly ok: true; readonly causes: readonly (LooseCause | { readonly malformed: string })[] }
  | { readonly ok: false; readonly error: string };

/** Takes the first balanced JSON object out of a reply that may wrap it in prose or a ``` fence. */
export function extractJson(text: string): string | null {
  const fenced = /```(?:json)?\s*([\s\S]*?)```/i.exec(text);
  const src = fenced?.[1] ?? text;
  const start = src.indexOf('{');
  if (start < 0) return null;
  let depth = 0;
  let inStr = false;
  let esc = false;
  // Bounded by the reply's length (itself bounded by max_tokens).
  for (let i = start; i < src.length; i++) {
    const ch = src[i];
    if (inStr) {
      if (esc) esc = false;
      else if (ch === '\\') esc = true;
      else if (ch === '"') inStr = false;
      continue;
    }
    if (ch === '"') inStr = true;
    else if (ch === '{') depth++;
    else if (ch === '}' && --depth === 0) return src.slice(start, i + 1);
  }
  return null;
}

/** Reads a reply: JSON with a `causes` array; each cause read leniently, or marked malformed with why. */
export function parseAnswer(text: string): ParsedAnswer {
  const json = extractJson(text);
  if (json === null) return { ok: false, error: 'no JSON object in the reply' };
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch (e) {
    return { ok: false, error: `the reply is not valid JSON: ${(e as Error).message}` };
  }
  const a = LooseAnswer.safeParse(v);
  if (!a.success) return { ok: false, error: 'the reply has no "causes" array' };
  const causes = a.data.causes.map((c) => {
    const r = LooseCause.safeParse(c);
    return r.success ? r.data : { malformed: r.error.issues.map((i) => `${i.path.join('.') || 'cause'}: ${i.message}`).join('; ').slice(0, 300) };
  });
  return { ok: true, causes };
}
