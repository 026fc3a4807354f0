import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IncidentOutput } from '../../schemas/index.js';

/** A replayed simulated world in chdb, written by the built CLI (a separate process, as in production). */
export interface McpWorld {
  readonly dir: string;
  readonly chdb: string;
  /** The last output line per incident: what the store must answer. */
  readonly latest: ReadonlyMap<string, IncidentOutput>;
}

function cli(args: string[], env: NodeJS.ProcessEnv): void {
  const r = spawnSync(process.execPath, ['bin/nightshift.js', ...args], { encoding: 'utf8', env });
  if (r.status !== 0) throw new Error(`nightshift ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
}

/** The default world: small and quick, two faults. */
export const SMALL_WORLD = ['--seed', '3', '--services', '12', '--hours', '3', '--faults', '2'];

/** Into chdb by default; `store` (e.g. NIGHTSHIFT_CLICKHOUSE_URL) chooses another; `world` the simulate options. */
export function replayWorld(prefix: string, store: Record<string, string> = {}, world: readonly string[] = SMALL_WORLD): McpWorld {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const chdb = join(dir, 'chdb');
  const env: NodeJS.ProcessEnv = { ...process.env, NIGHTSHIFT_CHDB_PATH: chdb, NIGHTSHIFT_LOG_LEVEL: 'warn' };
  delete env.NIGHTSHIFT_CLICKHOUSE_URL;
  delete env.NIGHTSHIFT_ANALYTICS;
  Object.assign(env, store);
  cli(['simulate', '--out', join(dir, 'world.ndjson'), ...world, '--quiet'], env);
  cli(['replay', '--in', join(dir, 'world.ndjson'), '--topology', join(dir, 'world.topology.json'), '--out', join(dir, 'incidents.ndjson'), '--quiet'], env);
  const latest = new Map<string, IncidentOutput>();
  for (const line of readFileSync(join(dir, 'incidents.ndjson'), 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const o = JSON.parse(line) as IncidentOutput;
    latest.set(o.incident_id, o);
  }
  return { dir, chdb, latest };
}

/** The JSON a tool returned (its single text content), or the error text when the call failed. */
export function payload(r: unknown): { isError: boolean; data: Record<string, unknown> | null; text: string } {
  const res = r as { isError?: boolean; content?: Array<{ type: string; text?: string }> };
  const text = res.content?.find((c) => c.type === 'text')?.text ?? '';
  if (res.isError) return { isError: true, data: null, text };
  return { isError: false, data: JSON.parse(text) as Record<string, unknown>, text };
}

export const TOOL_NAMES = ['list_incidents', 'search_incidents', 'get_incident', 'similar_incidents', 'run_saved_query', 'acknowledge_incident', 'record_feedback', 'list_feedback'];
