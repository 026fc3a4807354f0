#!/usr/bin/env node
// Produces a replay file (NDJSON, one Kafka record per line in kcat -J shape: {topic, key, payload, ts}) into Kafka,
// each record to its own topic with its key and timestamp. The compose simulator uses it to feed the pipeline with
// `nightshift simulate` output; kcat cannot, as it takes one topic per run and no per-line envelope.
//
//   node produce-replay.mjs --in FILE [--brokers host:port,...] [--batch N] [--rate RECORDS_PER_S]
//
// Memory stays bounded: one batch (default 1000 records) is in flight at a time, the file is streamed.
// Delivery: idempotent producer, acks from all in-sync replicas; exit code 0 only when every record was acknowledged.
// A line that is not a record (bad JSON, no topic, payload not a string) is counted and skipped, never fatal.
// Runs from /app/deploy in the image, so `kafkajs` resolves from /app/node_modules.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';

const { values } = parseArgs({
  options: {
    in: { type: 'string' },
    brokers: { type: 'string', default: process.env.NIGHTSHIFT_KAFKA_BROKERS ?? '' },
    batch: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '0' },
  },
  strict: true,
});
const fail = (msg) => {
  process.stderr.write(`produce-replay: ${msg}\n`);
  process.exit(2);
};
if (!values.in) fail('--in FILE is required');
if (!values.brokers) fail('--brokers (or NIGHTSHIFT_KAFKA_BROKERS) is required');
const batchSize = Number(values.batch);
const rate = Number(values.rate);
if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 100_000) fail('--batch must be an integer in 1..100000');
if (!Number.isFinite(rate) || rate < 0) fail('--rate must be a number >= 0 (0: as fast as the broker takes it)');

const kafka = new Kafka({ clientId: 'nightshift-produce-replay', brokers: values.brokers.split(',').map((b) => b.trim()), logLevel: logLevel.WARN });
const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });

/** Parses one line into a Kafka message for its topic, or null when the line is not a record. */
function toMessage(line) {
  let r;
  try {
    r = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof r !== 'object' || r === null || typeof r.topic !== 'string' || r.topic === '' || typeof r.payload !== 'string') return null;
  const message = { value: r.payload };
  if (typeof r.key === 'string') message.key = r.key;
  if (typeof r.ts === 'number' && Number.isFinite(r.ts)) message.timestamp = String(Math.trunc(r.ts));
  return { topic: r.topic, message };
}

async function send(batch) {
  const byTopic = new Map();
  for (const { topic, message } of batch) {
    let list = byTopic.get(topic);
    if (!list) byTopic.set(topic, (list = []));
    list.push(message);
  }
  await producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
}

const started = Date.now();
let produced = 0;
let skipped = 0;
const perTopic = {};
await producer.connect();
try {
  const lines = createInterface({ input: createReadStream(values.in), crlfDelay: Infinity });
  let batch = [];
  for await (const line of lines) {
    if (line.trim() === '') continue;
    const m = toMessage(line);
    if (!m) {
      skipped++;
      continue;
    }
    batch.push(m);
    if (batch.length >= batchSize) {
      await send(batch);
      for (const b of batch) perTopic[b.topic] = (perTopic[b.topic] ?? 0) + 1;
      produced += batch.length;
      batch = [];
      if (rate > 0) {
        // Pace to the requested rate: wait until the records sent so far are due.
        const due = started + (produced / rate) * 1000;
        const wait = due - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
    }
  }
  if (batch.length > 0) {
    await send(batch);
    for (const b of batch) perTopic[b.topic] = (perTopic[b.topic] ?? 0) + 1;
    produced += batch.length;
  }
} finally {
  await producer.disconnect();
}
const seconds = (Date.now() - started) / 1000;
process.stdout.write(`${JSON.stringify({ produced, skipped, perTopic, seconds })}\n`);
