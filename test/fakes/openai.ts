import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local server speaking the OpenAI Chat Completions wire format (POST /v1/chat/completions, non-streaming, with
 * response_format and tool calls) and embeddings (POST /v1/embeddings). Each chat request is answered by a script,
 * so tests can play a good model, a weak local model, 429 with Retry-After, 500, a hang, malformed JSON, or a model
 * citing evidence that does not exist. Every request body is recorded verbatim (the redaction canary reads them).
 */
export interface ChatBody {
  model: string;
  messages: { role: string; content: string }[];
  response_format?: { type: string; json_schema?: { name: string; schema: unknown } };
  tools?: { type: string; function: { name: string; parameters: unknown } }[];
  tool_choice?: unknown;
  max_tokens?: number;
  max_completion_tokens?: number;
  temperature?: number;
  stream?: boolean;
}

export type FakeReply =
  | { readonly kind: 'content'; readonly content: string; readonly usage?: { readonly in: number; readonly out: number } | null; readonly finish?: string }
  | { readonly kind: 'tool'; readonly args: string; readonly name?: string }
  | { readonly kind: 'status'; readonly status: number; readonly body?: unknown; readonly headers?: Readonly<Record<string, string>> }
  | { readonly kind: 'raw'; readonly status: number; readonly body: string }
  | { readonly kind: 'hang' }
  | { readonly kind: 'delay'; readonly ms: number; readonly then: FakeReply };

export type ChatScript = (body: ChatBody, n: number) => FakeReply | Promise<FakeReply>;

export interface RecordedRequest {
  readonly path: string;
  readonly raw: string;
}

/** A deterministic bag-of-words vector: texts sharing words get similar vectors. */
export function fakeEmbedding(text: string, dims = 64): number[] {
  const v = new Array<number>(dims).fill(0);
  for (const w of text.toLowerCase().match(/[a-z0-9]+/g) ?? []) {
    let h = 2166136261;
    for (let i = 0; i < w.length; i++) h = Math.imul(h ^ w.charCodeAt(i), 16777619);
    v[(h >>> 0) % dims]! += 1;
  }
  return v;
}

export class FakeOpenAi {
  readonly requests: RecordedRequest[] = [];
  chatCount = 0;
  embeddingCount = 0;
  private server: Server | null = null;
  private readonly hanging = new Set<ServerResponse>();
  /** Replace between tests or mid-test. */
  script: ChatScript;
  /** When set, embeddings answer with this status. */
  embeddingsStatus: number | null = null;

  constructor(script: ChatScript) {
    this.script = script;
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const port = (this.server.address() as AddressInfo).port;
    return `http://127.0.0.1:${port}/v1`;
  }

  async close(): Promise<void> {
    for (const r of this.hanging) r.destroy();
    this.hanging.clear();
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  chatBodies(): ChatBody[] {
    return this.requests.filter((r) => r.path.endsWith('/chat/completions')).map((r) => JSON.parse(r.raw) as ChatBody);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const path = req.url ?? '';
    // Bounded: tests send at most a few hundred requests.
    if (this.requests.length < 10_000) this.requests.push({ path, raw });
    if (req.method === 'POST' && path.endsWith('/embeddings')) return this.embeddings(raw, res);
    if (req.method !== 'POST' || !path.endsWith('/chat/completions')) return send(res, 404, { error: { message: 'not found' } });
    let body: ChatBody;
    try {
      body = JSON.parse(raw) as ChatBody;
    } catch {
      return send(res, 400, { error: { message: 'request body is not JSON' } });
    }
    const n = this.chatCount++;
    await this.reply(body, await this.script(body, n), res);
  }

  private async reply(body: ChatBody, r: FakeReply, res: ServerResponse): Promise<void> {
    switch (r.kind) {
      case 'delay':
        await new Promise((resolve) => setTimeout(resolve, r.ms));
        return this.reply(body, r.then, res);
      case 'hang':
        this.hanging.add(res);
        res.on('close', () => this.hanging.delete(res));
        return;
      case 'status':
        for (const [k, v] of Object.entries(r.headers ?? {})) res.setHeader(k, v);
        return send(res, r.status, r.body ?? { error: { message: `fake error ${r.status}`, type: 'server_error' } });
      case 'raw':
        res.writeHead(r.status, { 'content-type': 'application/json' });
        res.end(r.body);
        return;
      case 'content':
      case 'tool': {
        const message =
          r.kind === 'content'
            ? { role: 'assistant', content: r.content }
            : { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: r.name ?? body.tools?.[0]?.function.name ?? 'f', arguments: r.args } }] };
        const usage = r.kind === 'content' && r.usage === null ? undefined : { prompt_tokens: r.kind === 'content' ? (r.usage?.in ?? 1000) : 1000, completion_tokens: r.kind === 'content' ? (r.usage?.out ?? 200) : 200 };
        return send(res, 200, {
          id: 'chatcmpl-fake',
          object: 'chat.completion',
          created: 1_700_000_000,
          model: body.model,
          choices: [{ index: 0, message, finish_reason: r.kind === 'tool' ? 'tool_calls' : (r.finish ?? 'stop'), logprobs: null }],
          ...(usage ? { usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens } } : {}),
        });
      }
    }
  }

  private embeddings(raw: string, res: ServerResponse): void {
    this.embeddingCount++;
    if (this.embeddingsStatus !== null) return send(res, this.embeddingsStatus, { error: { message: 'embeddings unavailable' } });
    const body = JSON.parse(raw) as { model: string; input: string | string[] };
    const inputs = Array.isArray(body.input) ? body.input : [body.input];
    send(res, 200, {
      object: 'list',
      model: body.model,
      data: inputs.map((t, index) => ({ object: 'embedding', index, embedding: fakeEmbedding(t) })),
      usage: { prompt_tokens: 10, total_tokens: 10 },
    });
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** The incident document of a request (the user message the prompt builder writes). */
export function promptDoc(body: ChatBody): {
  incident: { id: string; services: string[] };
  ranker_candidates: { rank: number; service: string; kind: string; confidence: number; evidence: string[] }[];
  evidence: { id: string; service: string; summary: string }[];
  templates: { id: string; template: string }[];
  changes: { id: string; service: string }[];
  knowledge: { id: string; title: string }[];
} {
  const user = body.messages.find((m) => m.role === 'user');
  return JSON.parse(user?.content ?? '{}') as ReturnType<typeof promptDoc>;
}

/** A competent model: names the ranker's candidates with the ids shown in the prompt and cites a runbook. */
export function groundedAnswer(body: ChatBody, opts: { reverse?: boolean } = {}): string {
  const doc = promptDoc(body);
  const shown = new Set([...doc.evidence.map((e) => e.id), ...doc.templates.map((t) => t.id), ...doc.changes.map((c) => c.id)]);
  const cands = opts.reverse ? [...doc.ranker_candidates].reverse() : doc.ranker_candidates;
  const runbook = doc.knowledge[0]?.id ?? null;
  return JSON.stringify({
    causes: cands.slice(0, 3).map((c, i) => {
      const ev = c.evidence.filter((e) => shown.has(e));
      const why = doc.evidence.find((e) => e.id === ev[0])?.summary ?? 'the evidence';
      return {
        service: c.service,
        kind: c.kind,
        explanation: `${c.service} is the most likely origin: ${why}. Its callers inherit the failure.`,
        confidence: [0.7, 0.2, 0.05][i] ?? 0.01,
        evidence: ev.length > 0 ? ev : c.evidence,
        next_steps: [{ action: `Check ${c.service} first`, runbook }],
      };
    }),
  });
}
