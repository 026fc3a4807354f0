import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultConfig, loadConfig } from '../pipeline/config.js';
import { Counters } from '../core/counters.js';
import { NightshiftError } from '../core/errors.js';
import { Histogram, MetricsRegistry, METRIC } from '../core/metrics.js';
import type { Stage } from '../core/stage.js';
import { FanoutSink } from '../sinks/fanout.js';

describe('configuration', () => {
  it('defaults every section', () => {
    const c = defaultConfig();
    expect(c.ingest.topics.alerts).toBe('alerts');
    expect(c.pipeline.queueBatches).toBe(16);
    expect(c.reasoning.ranker.temperature).toBeGreaterThan(0);
  });
  it('reads YAML, applies environment overrides, and rejects typos and bad values with the path', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ns-cfg-'));
    const good = path.join(dir, 'c.yaml');
    await writeFile(good, 'ingest:\n  topics:\n    logs: app-logs\npipeline:\n  batchSize: 64\n');
    const c = await loadConfig(good, { NIGHTSHIFT_TOPIC_ALERTS: 'am' });
    expect(c.ingest.topics.logs).toBe('app-logs');
    expect(c.ingest.topics.alerts).toBe('am');
    expect(c.pipeline.batchSize).toBe(64);

    const typo = path.join(dir, 'typo.json');
    await writeFile(typo, JSON.stringify({ pipline: {} }));
    await expect(loadConfig(typo, {})).rejects.toMatchObject({ code: 'CONFIG_INVALID' });

    const bad = path.join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify({ pipeline: { queueBatches: 0 } }));
    const err = await loadConfig(bad, {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NightshiftError);
    expect((err as NightshiftError).message).toMatch(/pipeline\.queueBatches/);

    // Unknown keys are refused at every depth, naming where.
    for (const [cfg, where] of [
      [{ ingest: { topic: { logs: 'x' } } }, /ingest: Unrecognized key: "topic"|ingest.*topic/],
      [{ ingest: { topics: { log: 'x' } } }, /ingest\.topics.*log|Unrecognized key: "log"/],
      [{ ingest: { redact: { entropy: { minBitz: 3 } } } }, /minBitz/],
      [{ perception: { logs: { minCountt: 3 } } }, /minCountt/],
      [{ reasoning: { ranker: { temprature: 1 } } }, /temprature/],
    ] as const) {
      const f = path.join(dir, 'unknown.json');
      await writeFile(f, JSON.stringify(cfg));
      const e = await loadConfig(f, {}).catch((x: unknown) => x);
      expect(e, JSON.stringify(cfg)).toMatchObject({ code: 'CONFIG_INVALID' });
      expect((e as Error).message).toMatch(where);
    }

    const broken = path.join(dir, 'broken.json');
    await writeFile(broken, '{"pipeline": ');
    await expect(loadConfig(broken, {})).rejects.toMatchObject({ code: 'INVALID_JSON' });
  });
});

class Slow implements Stage<number, never> {
  readonly counters = new Counters();
  readonly got: number[] = [];
  constructor(readonly name: string, private readonly delayMs: number) {}
  async process(n: number): Promise<void> {
    await new Promise((r) => setTimeout(r, this.delayMs));
    this.got.push(n);
  }
}

describe('FanoutSink', () => {
  it('resolves only after every sink accepted the item', async () => {
    const a = new Slow('a', 1);
    const b = new Slow('b', 5);
    const f = new FanoutSink<number>([a, b]);
    await f.process(1);
    expect(a.got).toEqual([1]);
    expect(b.got).toEqual([1]);
    expect(b.counters.received).toBe(1);
    expect(f.counters.sent).toBe(1);
  });
  it('needs at least one sink', () => {
    expect(() => new FanoutSink([])).toThrow(RangeError);
  });
});

describe('metrics exposition', () => {
  it('renders stage counters and histograms in Prometheus text format', () => {
    const reg = new MetricsRegistry();
    const c = new Counters();
    c.received = 10;
    c.sent = 7;
    c.drop('dead_letter:INVALID_JSON', 3);
    reg.registerStages(() => [{ name: 'ingest', counters: c }]);
    const h = new Histogram([0.1, 1]);
    h.observe(0.05);
    h.observe(0.5);
    reg.register(METRIC.processingLatency, 'Latency.', 'histogram', () => h.samples({ stage: 'ingest' }));
    const text = reg.render();
    expect(text).toContain('# TYPE nightshift_records_received_total counter');
    expect(text).toContain('nightshift_records_received_total{stage="ingest"} 10');
    expect(text).toContain('nightshift_records_dropped_total{reason="dead_letter:INVALID_JSON",stage="ingest"} 3');
    expect(text).toContain('nightshift_processing_latency_seconds_bucket{le="0.1",stage="ingest"} 1');
    expect(text).toContain('nightshift_processing_latency_seconds_bucket{le="+Inf",stage="ingest"} 2');
    expect(text).toContain('nightshift_processing_latency_seconds_count{stage="ingest"} 2');
    expect(() => reg.register(METRIC.received, 'dup', 'counter', () => [])).toThrow(/twice/);
  });
});
