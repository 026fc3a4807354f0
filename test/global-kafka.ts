import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { RUN_ENV, kafkaScript, parseTestTopic } from './helpers/kafka.js';

/**
 * Test files create their topics on the shared development broker (scripts/kafka.sh) under `t-<run>-…` names and
 * never delete them: a few hundred topics per run. Left alone they pile up (10,400 partition directories, 15 GB
 * after a few days here), and a broker restarted over them spends minutes loading them before it answers, which
 * failed a CI run on its start timeout. So each run deletes its own topics when it ends, and at start the topics
 * of runs that ended without their teardown (killed) once they are older than STALE_MS: a vitest run started
 * beside this one (another worktree) keeps its topics because they are newer, and its run id differs. The broker
 * is started here too (a failed start is only a warning: the files that need it fail with kafka.sh's message).
 */
const STALE_MS = 6 * 3600_000;

/** The bootstrap address once the broker answers (`up`) or if it answers now (`status`); null otherwise. */
function broker(cmd: 'up' | 'status'): string | null {
  try {
    return kafkaScript(cmd) || null;
  } catch (e) {
    if (cmd === 'up') console.warn(`global-kafka: the broker did not start; the Kafka tests will say why: ${String((e as { stderr?: string }).stderr ?? e).trim()}`);
    return null;
  }
}

async function prune(brokers: string, keep: (t: { run: string; at: number }) => boolean): Promise<number> {
  const admin = new Kafka({ clientId: 'nightshift-test-prune', brokers: [brokers], logLevel: logLevel.NOTHING, retry: { retries: 2 } }).admin();
  await admin.connect();
  try {
    const doomed = (await admin.listTopics()).filter((t) => {
      const p = parseTestTopic(t);
      return p !== null && !keep(p);
    });
    // Bounded requests: a deletion of thousands of topics in one call times out on a small broker.
    for (let i = 0; i < doomed.length; i += 200) await admin.deleteTopics({ topics: doomed.slice(i, i + 200), timeout: 60_000 });
    return doomed.length;
  } finally {
    await admin.disconnect();
  }
}

export default async function setup(): Promise<() => Promise<void>> {
  // Forked test workers inherit the environment, so uniquePrefix in every file names this run.
  const run = randomBytes(4).toString('hex').slice(0, 7).replace(/^\d/, 'r');
  process.env[RUN_ENV] = run;
  const started = Date.now();
  // Started here, before the test files run side by side: a JVM starting under their load took over a minute.
  const at = broker('up');
  if (at) {
    const n = await prune(at, (t) => started - t.at < STALE_MS).catch(() => 0);
    if (n > 0) console.log(`global-kafka: deleted ${n} topics of earlier test runs older than ${STALE_MS / 3600_000} h`);
  }
  return async () => {
    const now = broker('status');
    if (now) await prune(now, (t) => t.run !== run).catch(() => 0);
  };
}
