import { PassThrough } from 'node:stream';
import type { CliIo } from '../../cli/io.js';

/** CLI streams for in-process `main()` runs: both are read as they are written, and kept as text. */
export function capture(): { io: CliIo; out: () => string; err: () => string } {
  const so = new PassThrough();
  const se = new PassThrough();
  let o = '';
  let e = '';
  so.on('data', (d: Buffer) => (o += d.toString()));
  se.on('data', (d: Buffer) => (e += d.toString()));
  return { io: { stdout: so, stderr: se, tty: false }, out: () => o, err: () => e };
}
