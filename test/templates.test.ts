import { describe, expect, it } from 'vitest';
import { NightshiftError } from '../core/errors.js';
import { stableId } from '../core/hash.js';
import { maskMessage, maskToken, MinerConfig, TemplateMiner, tokenize } from '../perception/templates/index.js';

/** Seeded PRNG (mulberry32): tests must not depend on Math.random. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const USERS = ['alice', 'bob', 'carol', 'dave', 'erin'];

/** A small synthetic log with 6 event types and variables of many kinds. */
function syntheticLog(n: number, seed: number): { message: string; type: number }[] {
  const r = prng(seed);
  const int = (k: number): number => Math.floor(r() * k);
  const ip = (): string => `10.${int(256)}.${int(256)}.${int(256)}`;
  const hex = (): string => int(0xffffffff).toString(16).padStart(8, '0') + 'a';
  const out: { message: string; type: number }[] = [];
  for (let i = 0; i < n; i++) {
    const type = int(6);
    const u = USERS[int(USERS.length)] as string;
    let message: string;
    switch (type) {
      case 0:
        message = `Accepted connection from ${ip()}:${1024 + int(60000)} in ${int(900)}ms`;
        break;
      case 1:
        message = `login ok for user ${u} session=${hex()} uid=${int(5000)}`;
        break;
      case 2:
        message = `GET /api/v1/items/${int(100000)} returned ${200 + int(5)} size ${int(64)}KB`;
        break;
      case 3:
        message = `Disk /dev/sda${int(4)} usage at ${int(100)}.${int(10)} percent on host-${int(40)}`;
        break;
      case 4:
        message = `Worker ${int(64)} finished job_${1_000_000 + int(1_000_000)}_${int(100)} after ${int(60)}.${int(9)}s`;
        break;
      default:
        message = `Cache miss for key ${hex()} ratio=0.${int(100)}`;
    }
    out.push({ message, type });
  }
  return out;
}

describe('masking', () => {
  const cases: [string, string][] = [
    ['42', '<NUM>'],
    ['-3.25', '<NUM>'],
    ['0x1F', '<HEX>'],
    ['deadbeef12', '<HEX>'],
    ['10.0.0.1', '<IP>'],
    ['10.0.0.1:8080', '<IP>'],
    ['/10.0.0.1:8080', '<IP>'],
    ['2001:db8::1', '<IP>'],
    ['[2001:db8::1]:8080', '<IP>'],
    ['123e4567-e89b-12d3-a456-426614174000', '<UUID>'],
    ['/var/log/app.log', '<PATH>'],
    ['https://example.com/a?b=1', '<URL>'],
    ['alice@example.com', '<EMAIL>'],
    ['12ms', '<DURATION>'],
    ['1.5s', '<DURATION>'],
    ['10KB', '<SIZE>'],
    ['2024-01-02T03:04:05Z', '<TS>'],
    ['03:04:05.123', '<TS>'],
    ['00:11:43:e3:ba:c3', '<MAC>'],
    ['uid=1000,', 'uid=<VALUE>,'],
    ['flag=true', 'flag=<VALUE>'],
    ['ready=true,policy=3', 'ready=<VALUE>,policy=<VALUE>'],
    ['blk_-7724713468912166542', '<ID>'],
    ['job_1445144423722_0020', '<ID>'],
    ['mice.c(1766)', 'mice.c(<NUM>)'],
    ['CentOS-4', 'CentOS-<ID>'],
    ['setLightsOn(true)', 'setLightsOn(<BOOL>)'],
    ['node12.example.com', '<HOST>'],
    ['node-12.example.com', '<HOST>'],
    ['(host08.topspot.net)', '(<HOST>)'],
    ['MSRA-SA-39.fareast.corp.microsoft.com', '<HOST>'],
    ["'cp-1.slowvm1.tcloud-pg0.utah.cloudlab.us'.", "'<HOST>'."],
    ['from=web01.prod.example.net', 'from=<VALUE>'],
    ['web01.example.com:8080', '<IP>'],
  ];
  it.each(cases)('masks %s as %s (typed)', (token, masked) => {
    expect(maskToken(token, 'typed')).toBe(masked);
  });

  it('uses <*> for every kind in the generic style, keeping punctuation', () => {
    expect(maskToken('uid=1000,')).toBe('uid=<*>,');
    expect(maskToken('(10.1.2.3)')).toBe('(<*>)');
    expect(maskToken('12ms')).toBe('<*>');
  });

  it('leaves names with a digit, plain words and lone punctuation alone', () => {
    for (const t of ['sda1', 'eth0', 'L2', 'ext4', 'hello', '::', 'ERROR:', 'name=alice']) {
      expect(maskToken(t, 'typed')).toBe(t);
    }
  });

  it('leaves files, packages and class names that look a little like hostnames alone', () => {
    for (const t of ['hadoop-metrics2.properties', 'log4j.appender.file', 'org.apache.hadoop.metrics2.impl.MetricsConfig', 'node12', 'example.com', 'http2.server.requests', 'ec2.instance.id']) {
      expect(maskToken(t, 'typed')).toBe(t);
    }
  });

  it('folds multi-token timestamps and keeps size units as their own token', () => {
    expect(maskMessage('at 2024-01-02 03:04:05 user bob')).toBe('at <TS> user bob');
    expect(maskMessage('timed out at Sat Jun 18 02:23:10 2005 ok')).toBe('timed out at <TS> ok');
    expect(maskMessage('Jun 18 02:23:10 host sshd')).toBe('<TS> host sshd');
    expect(maskMessage('read 3.2 MiB in 12ms')).toBe('read <NUM> MiB in <DURATION>');
  });
});

describe('TemplateMiner', () => {
  it('gives one template to one event from differently named hosts of a fleet', () => {
    const m = new TemplateMiner();
    const hosts = ['web01.example.com', 'db-3.prod.example.net', 'node12.eu-west-1.compute.internal', 'MSRA-SA-39.fareast.corp.microsoft.com'];
    const ids = new Set(hosts.map((h, i) => m.add(`Resolved ${h} to 10.0.0.${i + 1}`).id));
    expect(ids.size).toBe(1);
    expect(m.templates().map((t) => t.template)).toEqual(['Resolved <*> to <*>']);
  });

  it('gives one template to messages differing only in variables', () => {
    const m = new TemplateMiner();
    const a = m.add('Accepted connection from 10.0.0.1:5000 in 12ms');
    const b = m.add('Accepted connection from 192.168.1.20:61000 in 7ms');
    expect(a.isNew).toBe(true);
    expect(b.isNew).toBe(false);
    expect(b.id).toBe(a.id);
    expect(b.template).toBe('Accepted connection from <*> in <*>');
    expect(b.count).toBe(2);
    expect(b.id).toBe(stableId('tpl', b.template));
  });

  it('learns a variable word and reports the id it replaced', () => {
    const m = new TemplateMiner();
    const first = m.add('login ok for user alice from the web console');
    const second = m.add('login ok for user bob from the web console');
    expect(second.template).toBe('login ok for user <*> from the web console');
    expect(second.previousId).toBe(first.id);
    expect(second.id).not.toBe(first.id);
    expect(m.size).toBe(1);
    const third = m.add('login ok for user carol from the web console');
    expect(third.id).toBe(second.id);
    expect(third.previousId).toBeUndefined();
  });

  it('treats leading tokens as structure by default, and finds a name there with fallbackLimit', () => {
    const msgs = ['user alice logged in from the web console', 'user bob logged in from the web console'];
    const drainLike = new TemplateMiner();
    expect(new Set(msgs.map((s) => drainLike.add(s).id)).size).toBe(2);
    const fallback = new TemplateMiner({ fallbackLimit: 64 });
    const [a, b] = msgs.map((s) => fallback.add(s));
    expect(b?.template).toBe('user <*> logged in from the web console');
    expect(b?.previousId).toBe(a?.id);
    // The generalized cluster moved to the wildcard branch: a third name is found without the fallback search.
    expect(fallback.add('user carol logged in from the web console').id).toBe(b?.id);
    expect(fallback.size).toBe(1);
  });

  it('keeps punctuation around learned variables', () => {
    const m = new TemplateMiner();
    m.add('Connection from node MININT-FNANLI closed (timeout) by peer');
    const r = m.add('Connection from node MININT-QDMHSJ closed (reset) by peer');
    expect(r.template).toBe('Connection from node MININT-<*> closed (<*>) by peer');
  });

  it('keeps structurally different messages apart', () => {
    const m = new TemplateMiner();
    const ids = new Set(
      [
        'Connection refused by upstream payments',
        'Disk quota exceeded on volume data',
        'Scheduler started with 4 workers',
        'Scheduler stopped after 4 retries',
        'GET /api/items returned 200',
      ].map((s) => m.add(s).id),
    );
    expect(ids.size).toBe(5);
  });

  it('groups a synthetic log exactly by event type', () => {
    const log = syntheticLog(3000, 7);
    const m = new TemplateMiner();
    const ids = log.map((l) => m.add(l.message).id);
    // Resolve renames: the final id of each message is what match() says now.
    const finalIds = log.map((l) => m.match(l.message)?.id);
    const byType = new Map<number, Set<string | undefined>>();
    log.forEach((l, i) => {
      const s = byType.get(l.type) ?? new Set();
      s.add(finalIds[i]);
      byType.set(l.type, s);
    });
    for (const s of byType.values()) expect(s.size).toBe(1);
    expect(new Set(finalIds).size).toBe(6);
    expect(m.size).toBe(6);
    expect(ids.length).toBe(3000);
    expect(m.templates().map((t) => t.template)).toContain('Accepted connection from <*> in <*>');
  });

  it('folds variable-length lists of values into one template', () => {
    const m = new TemplateMiner();
    const a = m.add('ask 10.0.0.1:50010 to delete blk_123456 blk_223456');
    const b = m.add('ask 10.0.0.2:50010 to delete blk_323456 blk_423456 blk_523456 blk_623456');
    expect(b.id).toBe(a.id);
    expect(b.template).toBe('ask <*> to delete <*>');
  });

  it('match() looks up without learning', () => {
    const m = new TemplateMiner();
    expect(m.match('never seen this before')).toBeNull();
    m.add('Cache miss for key abc123def ratio=0.5');
    const r = m.match('Cache miss for key 99ffee0011 ratio=0.9');
    expect(r?.template).toBe('Cache miss for key <*> ratio=<*>');
    expect(r?.count).toBe(1);
    expect(m.size).toBe(1);
  });

  it('gives the same ids in two instances fed the same data, and is deterministic', () => {
    const log = syntheticLog(1000, 3).map((l) => l.message);
    const a = new TemplateMiner();
    const b = new TemplateMiner();
    const ra = log.map((s) => a.add(s));
    const rb = log.map((s) => b.add(s));
    expect(rb).toEqual(ra);
    expect(b.templates()).toEqual(a.templates());
    expect(JSON.stringify(b.toJSON())).toBe(JSON.stringify(a.toJSON()));
  });

  it('enforces the template cap, evicting rarely seen clusters and keeping frequent ones', () => {
    const m = new TemplateMiner({ maxTemplates: 5 });
    const frequent = 'heartbeat from the primary scheduler is healthy';
    let frequentId = '';
    for (let i = 0; i < 50; i++) {
      frequentId = m.add(frequent).id;
      // Each one-off has a distinct structure (distinct words), so each needs its own cluster.
      m.add(`unique event ${'abcdefghijklmnopqrstuvwxyz'.slice(0, 1 + (i % 26))} kind${String.fromCharCode(97 + (i % 26))}x only once`);
      expect(m.size).toBeLessThanOrEqual(5);
    }
    expect(m.size).toBe(5);
    expect(m.templates().some((t) => t.id === frequentId && t.count === 50)).toBe(true);
    // An evicted template starts over as new when it comes back.
    const again = m.add('unique event a kindax only once');
    expect(again.isNew).toBe(true);
  });

  it('handles a 1 MB line and a huge number of tokens within bounds', () => {
    const m = new TemplateMiner();
    const hugeToken = 'x'.repeat(1_000_000);
    const manyTokens = Array.from({ length: 200_000 }, (_, i) => `w${i % 7}`).join(' ');
    const t0 = performance.now();
    const a = m.add(`payload ${hugeToken} end`);
    const b = m.add(manyTokens);
    const elapsed = performance.now() - t0;
    expect(elapsed).toBeLessThan(500);
    expect(a.template.length).toBeLessThan(1000);
    const cfg = MinerConfig.parse({});
    expect(b.template.split(' ').length).toBeLessThanOrEqual(cfg.maxTokens + 1);
    expect(b.template.endsWith('<*>')).toBe(true);
    expect(m.add('').template).toBe('');
  });

  it('round-trips a snapshot: same ids now and the same results afterwards', () => {
    const log = syntheticLog(2000, 11).map((l) => l.message);
    const orig = new TemplateMiner({ maxTemplates: 4 });
    for (const s of log.slice(0, 1000)) orig.add(s);
    const restored = TemplateMiner.fromJSON(JSON.parse(JSON.stringify(orig.toJSON())));
    expect(restored.templates()).toEqual(orig.templates());
    const tail = log.slice(1000);
    expect(tail.map((s) => restored.add(s))).toEqual(tail.map((s) => orig.add(s)));
    expect(restored.templates()).toEqual(orig.templates());
  });

  it('rejects bad snapshots and configs with typed errors', () => {
    const bad: unknown[] = [null, 42, { kind: 'nightshift.template-miner', version: 2 }, { clusters: 'no' }];
    for (const s of bad) {
      try {
        TemplateMiner.fromJSON(s);
        expect.fail('fromJSON accepted a bad snapshot');
      } catch (e) {
        expect(e).toBeInstanceOf(NightshiftError);
        expect((e as NightshiftError).code).toBe('SCHEMA_MISMATCH');
      }
    }
    const snap = new TemplateMiner().toJSON() as { clusters: unknown[] };
    snap.clusters.push({ tokens: ['a', 'b'], count: 1, seq: 99, path: ['7'] });
    expect(() => TemplateMiner.fromJSON(snap)).toThrow(NightshiftError);
    expect(() => new TemplateMiner({ simThreshold: 2 })).toThrow(NightshiftError);
    expect(() => new TemplateMiner().add(undefined as unknown as string)).toThrow(NightshiftError);
  });
});

describe('tokenize', () => {
  /** The char-code loop tokenize was before it became a regex split: the reference it must agree with. */
  function reference(message: string, maxTokens: number): { tokens: string[]; overflow: boolean } {
    const tokens: string[] = [];
    let start = -1;
    for (let i = 0; i < message.length; i++) {
      const c = message.charCodeAt(i);
      const ws = c === 32 || c === 9 || c === 10 || c === 13 || c === 11 || c === 12;
      if (ws) {
        if (start >= 0) {
          if (tokens.length === maxTokens) return { tokens, overflow: true };
          tokens.push(message.slice(start, i));
          start = -1;
        }
      } else if (start < 0) start = i;
    }
    if (start >= 0) {
      if (tokens.length === maxTokens) return { tokens, overflow: true };
      tokens.push(message.slice(start));
    }
    return { tokens, overflow: false };
  }

  it('splits exactly as the char-code loop did: every whitespace run, edges, Unicode spaces kept, the token cap', () => {
    const alphabet = ['a', 'b', '7', ' ', '  ', '\t', '\n', '\r', '\v', '\f', '\u00a0', '\u2003', '=', '"'];
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const cases = ['', ' ', '   ', 'a', ' a', 'a ', ' a b ', 'a  b\t\tc\n', '\u00a0a\u00a0'];
    for (let k = 0; k < 3000; k++) {
      let s = '';
      const len = rnd(30);
      for (let i = 0; i < len; i++) s += alphabet[rnd(alphabet.length)];
      cases.push(s);
    }
    for (const s of cases) {
      for (const max of [1, 2, 3, 5, 256]) expect(tokenize(s, max), JSON.stringify([s, max])).toEqual(reference(s, max));
    }
  });
});
