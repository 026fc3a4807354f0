import type { ClickHouseLike } from '../sinks/clickhouse/client.js';

/** A scripted stand-in for ClickHouse: records inserts and fails the way a real server does, on request. */
export class FakeClickHouse implements ClickHouseLike {
  readonly engine = 'fake' as const;
  /** Every insert attempt, successful or not: [table, rows]. */
  readonly attempts: Array<{ table: string; rows: string[]; ok: boolean }> = [];
  /** Rows that made it, per table. */
  readonly tables = new Map<string, string[]>();
  /** Errors to throw on the next attempts, in order. */
  readonly failures: unknown[] = [];
  /** While set, every insert waits for it (to hold a batch in flight). */
  gate: Promise<void> | null = null;
  /** A row containing this text makes its whole insert fail as a parse error, like ClickHouse does. */
  badMarker = '"bad":true';
  commands: string[] = [];

  rows(table: string): string[] {
    return this.tables.get(table) ?? [];
  }

  async insertJsonRows(table: string, rows: readonly string[]): Promise<void> {
    if (this.gate) await this.gate;
    const f = this.failures.shift();
    if (f !== undefined) {
      this.attempts.push({ table, rows: [...rows], ok: false });
      throw f;
    }
    const bad = rows.findIndex((r) => r.includes(this.badMarker));
    if (bad >= 0) {
      this.attempts.push({ table, rows: [...rows], ok: false });
      throw new Error(
        `Code: 27, e.displayText() = DB::Exception: Cannot parse input: expected , before: ${rows[bad]!.slice(0, 40)}: (at row ${bad + 1})\n, e.what() = DB::Exception`,
      );
    }
    this.attempts.push({ table, rows: [...rows], ok: true });
    const t = this.tables.get(table) ?? [];
    t.push(...rows);
    this.tables.set(table, t);
  }

  async command(sql: string): Promise<void> {
    this.commands.push(sql);
  }

  /** What `SELECT version()` answers (migrations gate on it). */
  version = '18.16.1';

  async query<T>(sql: string): Promise<T[]> {
    if (/version\(\)/.test(sql)) return [{ v: this.version } as T];
    return [];
  }

  async close(): Promise<void> {}
}

export const connRefused = (): Error => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });

/** A promise and its resolver, to hold an insert in flight. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}
