import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Admin, Producer } from 'kafkajs';
import { groupId } from '../pipeline/kafka/cluster.js';
import { ALL_STAGES } from '../pipeline/kafka/runner.js';
import { scoreScenario } from '../eval/metrics.js';
import { IncidentOutput } from '../schemas/index.js';
import { simulate } from '../sim/index.js';
import { produceLines, readPartitions, testCluster, testKafka, testProducer, uncommitted, waitFor } from './helpers/kafka.js';
import { spawnRun, type Child } from './helpers/kafka-child.js';
import { expectedResultIds, resultIds } from './helpers/kafka-oracle.js';

/**
 * The Done-when failover test: three `nightshift run` processes share every stage; while a replay file of known
 * faults is being produced, one is killed with SIGKILL. Afterwards every fault has its incident, the root-cause
 * topic holds exactly the results an uninterrupted run gives once deduplicated by id (nothing lost, nothing
 * doubled), and the partitions the dead process owned were restored from checkpoints by the survivors (a relearned
 * partition would have written different results). The survivors then stop on SIGTERM with everything committed.
 */
const PARTS = { raw: 3, events: 6, bundles: 3, rca: 3, deadLetters: 1, checkpoints: 3 };
const children: Child[] = [];
let producer: Producer | null = null;
let admin: Admin | null = null;
const dir = mkdtempSync(join(tmpdir(), 'nightshift-kill-'));

afterAll(async () => {
  for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
  await producer?.disconnect();
  await admin?.disconnect();
  rmSync(dir, { recursive: true, force: true });
});

async function members(a: Admin, groups: readonly string[]): Promise<number[]> {
  const d = await a.describeGroups([...groups]);
  return groups.map((g) => {
    const x = d.groups.find((y) => y.groupId === g);
    return x && x.state === 'Stable' ? x.members.length : -1;
  });
}

describe('failover on a real Kafka broker', () => {
  it('one of three instances killed with SIGKILL mid-stream: every incident once, state restored not relearned', async () => {
    // Keyed by service, so that perception state sits in every partition and each move carries some (with the
    // default, component, one connected CMDB is one busy partition: kafka-equivalence.test.ts covers that).
    const tc = testCluster('kill', { partitions: PARTS, sessionTimeoutMs: 6000, heartbeatIntervalMs: 500, eventKey: 'service' });
    const sim = simulate({ seed: 3, hours: 2.5, faults: 2 });
    const lines = [...sim.records];
    const result = sim.result();
    const topologyFile = join(dir, 'topology.json');
    writeFileSync(topologyFile, JSON.stringify(result.topology));
    const configFile = join(dir, 'config.json');
    writeFileSync(configFile, JSON.stringify({ ingest: { topics: tc.raw }, kafka: tc.kafka }));
    const groups = ALL_STAGES.map((s) => groupId(tc.kafka, s));
    admin = testKafka(tc.brokers).admin();
    await admin.connect();
    producer = await testProducer(tc.brokers);

    for (let i = 0; i < 3; i++) {
      children.push(
        spawnRun(`i${i}`, ['--config', configFile, '--topology', topologyFile, '--out', join(dir, `out-${i}.ndjson`), '--ops-port', '0'], {
          NIGHTSHIFT_KAFKA_BROKERS: tc.brokers,
          POD_NAME: `i${i}`,
        }),
      );
    }
    await waitFor('three members in every group', async () => (await members(admin!, groups)).every((n) => n === 3), 90_000, 500);

    // Produce at a steady pace; kill one instance once about 40 % is in.
    const victim = children[1]!;
    let killedAt = 0;
    const batch = 1000;
    await produceLines(producer, lines, tc.raw, {
      batch,
      onBatch: async (n) => {
        if (killedAt === 0 && n >= lines.length * 0.4) {
          victim.proc.kill('SIGKILL');
          killedAt = Date.now();
        }
        await new Promise((r) => setTimeout(r, 250));
      },
    });
    expect(killedAt).toBeGreaterThan(0);
    expect(await victim.exited).toBeNull();
    const survivors = children.filter((c) => c !== victim);
    for (const s of survivors) expect(s.proc.exitCode, s.text.join('\n')).toBeNull();

    // Work is done when every group has two members and has committed everything (stateful stages commit together
    // with their checkpoints, so this also means the state is saved).
    const inputs: Array<[string, string[]]> = [
      [groups[0]!, Object.values(tc.raw)],
      [groups[1]!, [tc.kafka.topics.events]],
      [groups[2]!, [tc.kafka.topics.bundles]],
      [groups[3]!, [tc.kafka.topics.rca]],
    ];
    await waitFor('the survivors to take over and commit everything', async () => (await members(admin!, groups)).every((n) => n === 2) && (await uncommitted(admin!, inputs)) === 0, 240_000, 1000);

    // The dead instance's perception partitions were restored, with learned state, by the survivors.
    const restored = survivors.flatMap((s) => s.logs.filter((l) => l.msg === 'partition state restored from its checkpoint' && l.stage === 'perception' && Number(l.time) >= killedAt));
    expect(restored.length, survivors.map((s) => s.text.join('\n')).join('\n')).toBeGreaterThan(0);
    for (const r of restored) expect(Number((r.learned as { templates?: number }).templates)).toBeGreaterThan(0);

    const rca = [...(await readPartitions(tc.brokers, tc.kafka.topics.rca, 30_000)).values()].flat();
    const events = await readPartitions(tc.brokers, tc.kafka.topics.events, 30_000);
    const ids = resultIds(rca);
    expect(ids).toEqual(expectedResultIds(events, tc.config, tc.kafka, result.topology));
    const outputs = [...new Map(rca.map((m) => [m.value!.toString(), IncidentOutput.parse(JSON.parse(m.value!.toString()))])).values()];
    const score = scoreScenario({ name: 'kill', outputs, truth: result.faults, topology: result.topology, rawRecords: lines.length, rawAlerts: 0, bundles: { emitted: 0, bytesTotal: 0, bytesMax: 0 }, durationMs: result.endMs - result.startMs });
    expect(score.detected, JSON.stringify(score.per_fault)).toBe(score.faults);

    // SIGTERM: both survivors finish, commit and leave; the groups end empty with nothing left to commit.
    for (const s of survivors) s.proc.kill('SIGTERM');
    for (const s of survivors) expect(await s.exited, s.text.join('\n')).toBe(0);
    expect(await members(admin, groups)).toEqual(groups.map(() => -1));
    expect(await uncommitted(admin, inputs)).toBe(0);
  }, 600_000);
});
