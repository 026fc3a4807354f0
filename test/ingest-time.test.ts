import { describe, expect, it } from 'vitest';
import { NightshiftError } from '../core/errors.js';
import { MAX_EPOCH_MS, MIN_EPOCH_MS, isoToMs, nanoDiffMs, parseNanos, parseTime } from '../ingest/formats/time.js';
import { T0, T0_ISO, T0_NS, codes, only, otlpMetrics, parse } from './ingest-fixtures.js';

function badTs(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(NightshiftError);
    expect((e as NightshiftError).code).toBe('BAD_TIMESTAMP');
    return (e as NightshiftError).message;
  }
  throw new Error('expected BAD_TIMESTAMP');
}

describe('timestamps', () => {
  it('reads epoch ms, ISO-8601 with any zone and fraction, and OTLP nanoseconds to the same instant', () => {
    expect(parseTime(T0, 'ts')).toBe(T0);
    expect(parseTime(T0 + 0.9, 'ts')).toBe(T0); // floored
    expect(parseTime(T0_ISO, 'ts')).toBe(T0);
    expect(parseTime('2024-03-01T12:00:00+02:00', 'ts')).toBe(T0);
    expect(parseTime('2024-03-01T05:30:00-0430', 'ts')).toBe(T0);
    expect(parseTime('2024-03-01 10:00:00.999999999Z', 'ts')).toBe(T0 + 999);
    expect(parseTime('2024-03-01T10:00Z', 'ts')).toBe(T0);
    expect(parseNanos(T0_NS, 'x')).toEqual({ ms: T0, subNs: 0 });
    expect(parseNanos(`${T0}000042`, 'x')).toEqual({ ms: T0, subNs: 42 });
    expect(parseNanos(T0 * 1e6, 'x')?.ms).toBe(T0);
  });

  it('gives the same event time through every adapter form', () => {
    const plain = (ts: unknown) => only(parse('metrics', { ts, service: 's', name: 'm', value: 1 }), 'metric').ts;
    expect(plain(T0)).toBe(T0);
    expect(plain(T0_ISO)).toBe(T0);
    const otlp = (t: unknown) =>
      only(parse('metrics', otlpMetrics([{ name: 'm', gauge: { dataPoints: [{ timeUnixNano: t, asDouble: 1 }] } }])), 'metric').ts;
    expect(otlp(T0_NS)).toBe(T0);
    expect(otlp(T0 * 1e6)).toBe(T0);
  });

  it('rejects seconds since the epoch instead of guessing the unit', () => {
    const msg = badTs(() => parseTime(1709287200, 'ts'));
    expect(msg).toMatch(/seconds/);
    expect(codes(parse('changes', { ts: 1709287200, service: 's', kind: 'deploy', id: 'd', summary: '' }))).toEqual(['BAD_TIMESTAMP']);
    // the floor is exact: 1e11 ms is accepted, one ms less is not
    expect(parseTime(MIN_EPOCH_MS, 'ts')).toBe(MIN_EPOCH_MS);
    badTs(() => parseTime(MIN_EPOCH_MS - 1, 'ts'));
  });

  it('rejects negative, non-finite, absurd and zoneless times', () => {
    expect(badTs(() => parseTime(-5, 'ts'))).toMatch(/before 1970/);
    badTs(() => parseTime(NaN, 'ts'));
    badTs(() => parseTime(Infinity, 'ts'));
    expect(badTs(() => parseTime(T0 * 1000, 'ts'))).toMatch(/2200/); // microseconds
    badTs(() => parseTime(MAX_EPOCH_MS, 'ts'));
    expect(parseTime(MAX_EPOCH_MS - 1, 'ts')).toBe(MAX_EPOCH_MS - 1);
    expect(badTs(() => parseTime('2024-03-01T10:00:00', 'ts'))).toMatch(/zone/);
    badTs(() => parseTime('2024-02-30T10:00:00Z', 'ts'));
    badTs(() => parseTime('2024-03-01T24:00:00Z', 'ts'));
    badTs(() => parseTime('March 1, 2024', 'ts'));
    badTs(() => parseTime('2250-01-01T00:00:00Z', 'ts'));
    expect(badTs(() => parseTime(String(T0), 'ts'))).toMatch(/numeric string/);
    badTs(() => parseNanos('-1', 'x'));
    badTs(() => parseNanos('17e18', 'x'));
    badTs(() => parseNanos(1.5, 'x'));
    badTs(() => parseNanos('1709287200000', 'x')); // milliseconds in a nanosecond field
  });

  it('treats 0 and absent OTLP times as unknown, not as 1970', () => {
    expect(parseNanos('0', 'x')).toBeUndefined();
    expect(parseNanos(0, 'x')).toBeUndefined();
    expect(parseNanos(undefined, 'x')).toBeUndefined();
  });

  it('keeps sub-millisecond precision in differences', () => {
    const a = parseNanos(`${T0}000123`, 'a')!;
    const b = parseNanos(`${T0 + 1}500123`, 'b')!;
    expect(nanoDiffMs(a, b)).toBeCloseTo(1.5, 9);
  });

  it('handles leap days and years below 100 without Date.UTC quirks', () => {
    expect(isoToMs('2024-02-29T00:00:00Z')).toBe(Date.UTC(2024, 1, 29));
    expect(isoToMs('2023-02-29T00:00:00Z')).toBeNaN();
    expect(isoToMs('0001-01-01T00:00:00Z')).toBeLessThan(0);
  });
});
