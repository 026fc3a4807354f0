/**
 * Diagnostic: runs ingest and perception over a replay file and writes every signal perception produces as NDJSON
 * (one line per signal). `node dist/bench/real/signals.js REPLAY [TOPOLOGY] [OUT]` (default OUT: stdout);
 * NIGHTSHIFT_CONFIG=FILE runs it with a configuration file, as `--config` does for the CLI.
 * Used to see, per fault, which evidence exists before judging how incidents are cut and ranked.
 */
import { createWriteStream } from 'node:fs';
import { loadConfig } from '../../pipeline/config.js';
import { MemoryDeadLetters } from '../../core/deadletter.js';
import { silentLogger } from '../../core/log.js';
import { replayRecords } from '../../core/replay.js';
import { IngestStage } from '../../ingest/index.js';
import { loadTopologyFile } from '../../ingest/topology.js';
import { createPerception } from '../../perception/index.js';
import type { Event } from '../../schemas/index.js';

async function main(): Promise<void> {
  const [replay, topo, out] = process.argv.slice(2);
  if (!replay) throw new Error('usage: signals REPLAY [TOPOLOGY] [OUT]');
  const cfg = await loadConfig(process.env.NIGHTSHIFT_CONFIG);
  const deadLetters = new MemoryDeadLetters(10);
  const deps = { log: silentLogger(), deadLetters };
  const w = createWriteStream(out ?? '/dev/stdout');
  const topology = topo ? await loadTopologyFile(topo) : undefined;
  const perception = createPerception(cfg.perception, deps, topology, (s) => w.write(`${JSON.stringify(s)}\n`));
  const ingest = new IngestStage(cfg.ingest, deps);
  const events: Event[] = [];
  const evOut = { emit: (e: Event) => events.push(e) };
  const sink = { emit: () => undefined };
  for await (const r of replayRecords(replay, { maxLineBytes: cfg.pipeline.maxLineBytes, deadLetters })) {
    events.length = 0;
    await ingest.process(r, evOut);
    for (const e of events) perception.process(e, sink);
  }
  perception.flush(sink);
  w.end();
  process.stderr.write(`${JSON.stringify(perception.stats().correlator)}\n`);
}
main().catch((e) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(1);
});
