/**
 * Literals for the read queries. The ClickHouse HTTP interface and chdb take one SQL string, and 18.16 has no
 * query parameters, so values are quoted here; every value that reaches SQL has also passed a zod bound first.
 */
export function str(v: string): string {
  return `'${v.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

export function strList(vs: readonly string[]): string {
  // `IN ()` is a syntax error; an impossible id keeps the query valid and empty.
  return vs.length === 0 ? `('\\0')` : `(${vs.map(str).join(', ')})`;
}

/** 64-bit integers arrive as strings from some engines and versions. */
export function num(v: unknown): number {
  return typeof v === 'number' ? v : Number(v);
}

/** Telemetry text is cut before it reaches an agent: one huge log line must not fill its context. */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… [${text.length - max} more characters]`;
}
