import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Admin, Producer } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryDeadLetters } from '../core/deadletter.js';
import { silentLogger } from '../core/log.js';
import { buildEmbedded } from '../pipeline/build.js';
import { defaultConfig } from '../pipeline/config.js';
import { groupId } from '../pipeline/kafka/cluster.js';
import { ALL_STAGES } from '../pipeline/kafka/runner.js';
import { IncidentOutput } from '../schemas/index.js';
import { simulate } from '../sim/index.js';
import { MemorySink } from '../sinks/index.js';
import { spawnRun, type Child } from './helpers/kafka-child.js';
import { finalStates, produceLines, readPartitions, testCluster, testKafka, testProducer, uncommitted, waitFor } from './helpers/kafka.js';

/**
 * The same world through `replay` and through three `nightshift run` processes (default settings, several
 * partitions), one of which is killed with SIGKILL while the world is being produced: the survivors take its
 * partitions over (state from checkpoints, raw records re-read from the committed offsets, their events arriving
 * after the others') and the incidents' final states are still the ones replay gives.
 */
const PARTS = { raw: 3, events: 6, bundles: 3, rca: 3, deadLetters: 1, checkpoints: 3 };
const children: Child[] = [];
let producer: Producer | null = null;
let admin: Admin | null = null;
const dir = mkdtempSync(join(tmpdir(), 'nightshift-equiv-kill-'));

afterAll(async () => {
  for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
  await producer?.disconnect();
  await admin?.disconnect();
  rmSync(dir, { recursive: true, force: true });
});

async function stable(a: Admin, groups: readonly string[], n: number): Promise<boolean> {
  const d = await a.describeGroups([...groups]);
  return groups.every((g) => {
    const x = d.groups.find((y) => y.groupId === g);
    return x !== undefined && x.state === 'Stable' && x.members.length === n;
  });
}

describe('replay and run give the same incidents, through a SIGKILL', () => {
  it('one of three instances killed mid-stream: the same incidents with the same root causes as replay', async () => {
    const tc = testCluster('equivkill', { partitions: PARTS, sessionTimeoutMs: 6000, heartbeatIntervalMs: 500 });
    // With the simulator's real shapes this world has a raw partition (changes) whose last record comes long before
    // the end: taken over from the dead instance, it must say it is idle or it holds perception back for good.
    const sim = simulate({ seed: 11, hours: 3.5, faults: 3 });
    const lines = [...sim.records];
    const result = sim.result();

    const memo = new MemorySink<IncidentOutput>();
    const embedded = buildEmbedded(defaultConfig(), { log: silentLogger(), deadLetters: new MemoryDeadLetters(), topology: result.topology }, memo);
    await embedded.run(
      (async function* () {
        let n = 0;
        for (const l of lines) yield { topic: l.topic, key: l.key, payload: l.payload, ts: l.ts, source: { line: ++n } };
      })(),
    );
    const want = finalStates(memo.items);
    expect(want.size).toBeGreaterThan(0);

    const topologyFile = join(dir, 'topology.json');
    writeFileSync(topologyFile, JSON.stringify(result.topology));
    const configFile = join(dir, 'config.json');
    writeFileSync(configFile, JSON.stringify({ ingest: { topics: tc.raw }, kafka: tc.kafka }));
    const groups = ALL_STAGES.map((s) => groupId(tc.kafka, s));
    admin = testKafka(tc.brokers).admin();
    await admin.connect();
    producer = await testProducer(tc.brokers);
    for (let i = 0; i < 3; i++) {
      children.push(spawnRun(`k${i}`, ['--config', configFile, '--topology', topologyFile, '--out', join(dir, `out-${i}.ndjson`), '--ops-port', '0'], { NIGHTSHIFT_KAFKA_BROKERS: tc.brokers, POD_NAME: `k${i}` }));
    }
    await waitFor('three members in every group', () => stable(admin!, groups, 3), 90_000, 500);

    // The victim is the instance that owns the busy perception partition (a connected CMDB keys every event alike):
    // killing it moves the state that matters, not an idle partition.
    let victim: Child | null = null;
    let killedAt = 0;
    await produceLines(producer, lines, tc.raw, {
      batch: 1000,
      onBatch: async (n) => {
        if (killedAt === 0 && n >= lines.length * 0.4) {
          const ends = await admin!.fetchTopicOffsets(tc.kafka.topics.events);
          const busy = ends.reduce((a, b) => (Number(b.high) > Number(a.high) ? b : a)).partition;
          const owns = (c: Child): boolean => {
            const last = c.logs.filter((l) => l.msg === 'assignment' && l.stage === 'perception').pop();
            return ((last?.partitions as string[] | undefined) ?? []).includes(`${tc.kafka.topics.events}:${busy}`);
          };
          victim = children.find(owns) ?? children[1]!;
          victim.proc.kill('SIGKILL');
          killedAt = Date.now();
        }
        await new Promise((r) => setTimeout(r, 250));
      },
    });
    expect(killedAt).toBeGreaterThan(0);
    const dead = victim!;
    const inputs: Array<[string, string[]]> = [
      [groups[0]!, Object.values(tc.raw)],
      [groups[1]!, [tc.kafka.topics.events]],
      [groups[2]!, [tc.kafka.topics.bundles]],
      [groups[3]!, [tc.kafka.topics.rca]],
    ];
    await waitFor('the survivors to take over and commit everything', async () => (await stable(admin!, groups, 2)) && (await uncommitted(admin!, inputs)) === 0, 240_000, 1000);

    // Committed input is not yet the last output: perception's aligner may still hold the newest events (they are in
    // its checkpoint) until the next heartbeats release them. Read until the states settle on replay's, bounded.
    const readStates = async (): Promise<Map<string, string>> =>
      finalStates([...(await readPartitions(tc.brokers, tc.kafka.topics.rca, 30_000)).values()].flat().map((m) => IncidentOutput.parse(JSON.parse(m.value!.toString()))));
    const same = (a: Map<string, string>): boolean => a.size === want.size && [...want].every(([id, w]) => a.get(id) === w);
    let got = await readStates();
    for (const until = Date.now() + 60_000; !same(got) && Date.now() < until; ) {
      await new Promise((r) => setTimeout(r, 3000));
      got = await readStates();
    }
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [id, w] of want) expect(got.get(id), id).toBe(w);
    // A survivor restored the dead instance's busy perception partition, learned state included.
    const restored = children.filter((c) => c !== dead).flatMap((c) => c.logs.filter((l) => l.msg === 'partition state restored from its checkpoint' && l.stage === 'perception' && Number(l.time) >= killedAt));
    expect(restored.some((r) => Number((r.learned as { templates?: number }).templates) > 0)).toBe(true);
    for (const s of children.filter((c) => c !== dead)) s.proc.kill('SIGTERM');
    for (const s of children.filter((c) => c !== dead)) expect(await s.exited, s.text.join('\n')).toBe(0);
  }, 600_000);
});
