import type { Readable } from 'node:stream';

export type Line =
  | { readonly kind: 'line'; readonly n: number; readonly text: string }
  | { readonly kind: 'oversized'; readonly n: number; readonly head: string; readonly bytes: number };

/**
 * Splits a byte stream into lines without ever holding more than `maxLineBytes` of one line: an oversized line
 * is reported with its head and size, and the rest of it is skipped. `readline` would buffer it whole.
 */
export async function* readLines(stream: Readable, maxLineBytes: number, headBytes = 64 * 1024): AsyncGenerator<Line> {
  let parts: Buffer[] = [];
  let partBytes = 0;
  let oversized = false;
  let overBytes = 0;
  let n = 0;
  const finish = (): Line => {
    n++;
    // One part (the common case: the line lies inside one chunk) is used in place; concat would copy it.
    const buf = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    parts = [];
    partBytes = 0;
    if (oversized) {
      const l: Line = { kind: 'oversized', n, head: buf.subarray(0, headBytes).toString('utf8'), bytes: overBytes };
      oversized = false;
      overBytes = 0;
      return l;
    }
    let end = buf.length;
    if (end > 0 && buf[end - 1] === 0x0d) end--; // CRLF files
    return { kind: 'line', n, text: buf.subarray(0, end).toString('utf8') };
  };
  const append = (chunk: Buffer): void => {
    if (oversized) {
      overBytes += chunk.length;
      // Keep only the head of an oversized line, for the dead letter.
      if (partBytes < headBytes) {
        const keep = chunk.subarray(0, headBytes - partBytes);
        parts.push(keep);
        partBytes += keep.length;
      }
      return;
    }
    parts.push(chunk);
    partBytes += chunk.length;
    if (partBytes > maxLineBytes) {
      oversized = true;
      overBytes = partBytes;
      const head = Buffer.concat(parts).subarray(0, headBytes);
      parts = [head];
      partBytes = head.length;
    }
  };
  for await (const chunk of stream as AsyncIterable<Buffer | string>) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(0x0a, start);
      if (nl < 0) break;
      append(buf.subarray(start, nl));
      yield finish();
      start = nl + 1;
    }
    if (start < buf.length) append(buf.subarray(start));
  }
  if (partBytes > 0 || oversized) yield finish();
}
