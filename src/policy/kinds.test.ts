/**
 * The policy kinds in-process (policy/kinds/): each runs the shared case suite
 * (test/support/policy-cases.ts), then its own behaviour with seeded or scripted dice — weighted
 * statistics, sticky stability, geo specificity, latency tolerance, failover `min_healthy`,
 * multivalue `max`, cidr longest match — and the ECS scope it answers (RFC 7871 §7.2.1). No
 * sockets: zones go through the real load path and decisions through `decide`, as the DNS path's.
 */
import { describe, expect, it } from 'vitest';
import { RRType } from '../proto/types.js';
import { vantagePoints } from '../drill/vantage.js';
import { client, contextFor, keysOf, policyCases, recordOf, scripted, seededChooser, zoneOf } from '../../test/support/policy-cases.js';
import { decide, outcomes } from './evaluate.js';
import { ALL_UP, withEndpointsDown, withRegionsDown, type HealthView } from './health-view.js';
import type { Client } from './client.js';
import type { Decision, PolicyRecord, TraceStep } from './types.js';

const ZONE = zoneOf(`latency:
  - { from: 198.51.100.0/24, rtt_ms: { fra: 10, iad: 30, gru: 200 } }
  - { from: 203.0.113.0/25, rtt_ms: { fra: 50, iad: 52, gru: 90 } }
policies:
  - { name: pool, type: A, policy: { pool: eu } }
  - { name: pool, type: AAAA, ttl: 90, policy: { pool: eu } }
  - { name: w, type: A, ttl: 12, policy: { weighted: { pool: us } } }
  - { name: weu, type: A, policy: { weighted: { pool: eu } } }
  - { name: sticky, type: A, policy: { weighted: { pool: many, sticky: true } } }
  - { name: sticky16, type: A, policy: { weighted: { pool: many, sticky: true, sticky_prefix_v4: 16 } } }
  - { name: sticky, type: AAAA, policy: { weighted: { pool: eu, sticky: true } } }
  - name: split
    type: A
    policy: { weighted: { children: [ { weight: 9, policy: { pool: eu } }, { weight: 1, policy: { pool: us } } ] } }
  - { name: cdn, type: CNAME, policy: { weighted: { pool: cdn } } }
  - { name: mv3, type: A, policy: { multivalue: { pool: many, max: 3 } } }
  - { name: mvall, type: A, policy: { multivalue: { pool: many } } }
  - { name: mveu, type: A, policy: { multivalue: { pool: eu } } }
  - name: fo
    type: A
    policy: { failover: { tiers: [ { pool: eu }, { weighted: { pool: us } }, { pool: sa } ] } }
  - name: fomin
    type: A
    policy: { failover: { min_healthy: 2, tiers: [ { pool: eu }, { multivalue: { pool: us } }, { pool: sa } ] } }
  - name: geo
    type: A
    policy:
      geo:
        branches:
          - { match: { subdivisions: [US-MN] }, policy: { pool: sa } }
          - { match: { countries: [US] }, policy: { pool: us } }
          - { match: { continents: [NA] }, policy: { pool: many } }
          - { match: { continents: [EU] }, policy: { pool: eu } }
        default: { multivalue: { pool: cdn } }
  - name: geosame
    type: A
    policy: { geo: { branches: [ { match: { continents: [EU] }, policy: { pool: eu } } ], default: { pool: eu } } }
  - name: geonodefault
    type: A
    policy: { geo: { branches: [ { match: { countries: [DE] }, policy: { pool: eu } } ] } }
  - name: lat
    type: A
    policy:
      latency:
        regions: [ { region: fra, policy: { pool: eu } }, { region: iad, policy: { pool: us } }, { region: gru, policy: { pool: sa } } ]
  - name: lattol
    type: A
    policy:
      latency:
        tolerance_ms: 5
        regions: [ { region: fra, policy: { pool: eu } }, { region: iad, policy: { pool: us } }, { region: gru, policy: { pool: sa } } ]
  - name: cidr
    type: A
    policy:
      cidr:
        routes:
          - { networks: [ 10.0.0.0/8, "2001:db8::/32" ], policy: { pool: eu } }
          - { networks: [ 10.1.0.0/16 ], policy: { pool: us } }
        default: { pool: sa }
  - name: cidrnodefault
    type: A
    policy: { cidr: { routes: [ { networks: [ 10.0.0.0/8 ], policy: { pool: eu } } ] } }
`);

const LATENCY = ZONE.policies!.latency;
const rec = (name: string, rrtype: number = RRType.A): PolicyRecord => recordOf(ZONE, name, rrtype);
const down = (...keys: string[]): HealthView => withEndpointsDown(ALL_UP, new Set(keys));
interface RunOptions {
  health?: HealthView;
  seed?: number;
  trace?: TraceStep[];
  rrtype?: number;
}
/** `decide` for record `name` and a client, with seeded dice (seed 1 unless given). */
function run(name: string, who: string | Client, opts: RunOptions = {}): Decision {
  const c = typeof who === 'string' ? client(who) : who;
  const chooser = seededChooser(opts.seed ?? 1);
  return decide(rec(name, opts.rrtype), c, opts.health ?? ALL_UP, { latency: LATENCY, chooser, ...(opts.trace ? { trace: opts.trace } : {}) });
}
/** Exact shares of each answered set (keys sorted) from the drill preview walk. */
function shares(name: string, who: string, health: HealthView = ALL_UP): Map<string, number> {
  const o = outcomes(rec(name), client(who), health, { latency: LATENCY });
  expect(o.exact).toBe(true);
  const by = new Map<string, number>();
  for (const x of o.outcomes) {
    const k = keysOf(x.decision).sort().join(' ');
    by.set(k, (by.get(k) ?? 0) + x.share);
  }
  return by;
}
/** Counts of each first answered endpoint over `n` decisions with one seeded dice stream. */
function tally(name: string, who: string, n: number, health: HealthView = ALL_UP): Map<string, number> {
  const chooser = seededChooser(2024);
  const c = client(who);
  const out = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const k = decide(rec(name), c, health, { latency: LATENCY, chooser })
      .endpoints.map((e) => e.key)
      .join(' ');
    out.set(k, (out.get(k) ?? 0) + 1);
  }
  return out;
}

/** Clients placed by geoip-lite's data (the same lookups the policies use). */
const [CA] = vantagePoints(['CA']).map((v) => v.subnet);
const [BR] = vantagePoints(['BR']).map((v) => v.subnet);
const US_MN = '128.101.101.101';
const US = '8.8.8.8';
const GB = '81.2.69.142';
const DE = '53.128.0.0/24';
const DE6 = '2a00:1450:4001::1';
const ZA = '41.1.1.1';
const NOWHERE = '1.1.1.1';
const CLIENTS = [US_MN, US, GB, DE, DE6, ZA, NOWHERE, CA!, BR!, '198.51.100.7', '203.0.113.9', '10.1.2.3', '10.2.0.1/24', '2001:db8:1000::/56', '0.0.0.0/0'];

// ---- the shared suite, per kind ------------------------------------------------------------------

const fixture = (records: { name: string; rrtype?: number; ttl: number }[]) => () => ({ zone: ZONE, records, clients: CLIENTS });
policyCases(
  'pool',
  fixture([
    { name: 'pool', ttl: 30 },
    { name: 'pool', rrtype: RRType.AAAA, ttl: 90 },
  ]),
);
policyCases(
  'weighted',
  fixture([
    { name: 'w', ttl: 12 },
    { name: 'weu', ttl: 30 },
    { name: 'sticky', ttl: 30 },
    { name: 'sticky16', ttl: 30 },
    { name: 'sticky', rrtype: RRType.AAAA, ttl: 30 },
    { name: 'split', ttl: 30 },
    { name: 'cdn', rrtype: RRType.CNAME, ttl: 30 },
  ]),
);
policyCases(
  'multivalue',
  fixture([
    { name: 'mv3', ttl: 30 },
    { name: 'mvall', ttl: 30 },
    { name: 'mveu', ttl: 30 },
  ]),
);
policyCases(
  'failover',
  fixture([
    { name: 'fo', ttl: 30 },
    { name: 'fomin', ttl: 30 },
  ]),
);
policyCases(
  'geo',
  fixture([
    { name: 'geo', ttl: 30 },
    { name: 'geosame', ttl: 30 },
    { name: 'geonodefault', ttl: 30 },
  ]),
);
policyCases(
  'latency',
  fixture([
    { name: 'lat', ttl: 30 },
    { name: 'lattol', ttl: 30 },
  ]),
);
policyCases(
  'cidr',
  fixture([
    { name: 'cidr', ttl: 30 },
    { name: 'cidrnodefault', ttl: 30 },
  ]),
);

// ---- each kind -------------------------------------------------------------------------------------

describe('pool', () => {
  it('answers every usable endpoint of the pool that fits the type, in the order written', () => {
    expect(keysOf(run('pool', US))).toEqual(['eu/e1', 'eu/e2']);
    expect(keysOf(run('pool', US, { rrtype: RRType.AAAA }))).toEqual(['eu/e6']);
    expect(keysOf(run('pool', US, { health: down('eu/e1') }))).toEqual(['eu/e2']);
  });

  it('draws no dice', () => {
    const chooser = scripted([]);
    decide(rec('pool'), client(US), ALL_UP, { chooser });
    expect(chooser.draws).toEqual([]);
  });
});

describe('weighted', () => {
  it('picks by weight: exactly 1:3 in the preview walk, and within 5 standard errors over 40,000 seeded draws', () => {
    const exact = shares('weu', US);
    expect(exact.get('eu/e1')).toBeCloseTo(0.25, 12);
    expect(exact.get('eu/e2')).toBeCloseTo(0.75, 12);
    const n = 40_000;
    const counts = tally('weu', US, n);
    const p = (counts.get('eu/e2') ?? 0) / n;
    expect(Math.abs(p - 0.75)).toBeLessThan(5 * Math.sqrt((0.75 * 0.25) / n));
    expect([...counts.keys()].sort()).toEqual(['eu/e1', 'eu/e2']);
  });

  it('never picks a drained endpoint (weight 0) and splits evenly between equal weights', () => {
    const n = 20_000;
    const counts = tally('w', US, n);
    expect(counts.has('us/u0')).toBe(false);
    const p = (counts.get('us/u1') ?? 0) / n;
    expect(Math.abs(p - 0.5)).toBeLessThan(5 * Math.sqrt(0.25 / n));
  });

  it('offers the dice the usable endpoints with their weights, and answers the one chosen', () => {
    const chooser = scripted([1]);
    const d = decide(rec('weu'), client(US), ALL_UP, { chooser });
    expect(chooser.draws).toEqual([[1, 3]]);
    expect(keysOf(d)).toEqual(['eu/e2']);
    const c2 = scripted([0]);
    expect(keysOf(decide(rec('weu'), client(US), down('eu/e1'), { chooser: c2 }))).toEqual(['eu/e2']);
    expect(c2.draws).toEqual([[3]]);
  });

  it('over children: 9:1, and a child with nothing usable is dropped and the dice thrown again among the rest', () => {
    const s = shares('split', US);
    expect(s.get('eu/e1 eu/e2')).toBeCloseTo(0.9, 12);
    expect(s.get('us/u1 us/u2')).toBeCloseTo(0.1, 12);
    const chooser = scripted([0, 0]);
    const d = decide(rec('split'), client(US), down('eu/e1', 'eu/e2'), { chooser });
    expect(keysOf(d)).toEqual(['us/u1', 'us/u2']);
    expect(d.allDown).toBe(false);
    expect(chooser.draws).toEqual([[9, 1], [1]]);
  });

  it('non-sticky answers do not depend on the client: scope 0', () => {
    for (const who of [US, DE, DE6, '10.1.2.3']) expect(run('weu', who).scope).toBe(0);
  });
});

describe('weighted, sticky', () => {
  it('keeps every address of a client network on one endpoint, and draws no dice', () => {
    for (let n = 0; n < 50; n++) {
      const net = `100.${n}.${(n * 7) % 256}`;
      const first = keysOf(run('sticky', `${net}.1`));
      for (const host of [2, 77, 254]) {
        const chooser = scripted([]);
        expect(keysOf(decide(rec('sticky'), client(`${net}.${host}`), ALL_UP, { chooser })), `${net}.${host}`).toEqual(first);
        expect(chooser.draws).toEqual([]);
      }
    }
  });

  it('scope is the sticky prefix (/24, /56, or as configured), also past a shorter source prefix (RFC 7871 §7.2.1)', () => {
    expect(run('sticky', '100.1.2.3').scope).toBe(24);
    expect(run('sticky16', '100.1.2.3').scope).toBe(16);
    // A /20 source hashes the /24 100.1.0.0/24 (the bits past the source are zero): scope 24, "not specific enough".
    expect(run('sticky', '100.1.0.0/20').scope).toBe(24);
    expect(run('sticky', '2001:db8:77::1', { rrtype: RRType.AAAA }).scope).toBe(56);
    expect(run('sticky', '2001:db8:77::/48', { rrtype: RRType.AAAA }).scope).toBe(56);
  });

  it('spreads networks over endpoints about evenly, and losing one moves only the networks it had', () => {
    const nets = Array.from({ length: 4000 }, (_, i) => `${20 + (i >> 8)}.${i & 255}.${(i * 37) & 255}.0/24`);
    const before = nets.map((n) => keysOf(run('sticky', n))[0]!);
    const count = new Map<string, number>();
    for (const k of before) count.set(k, (count.get(k) ?? 0) + 1);
    expect(count.size).toBe(10);
    for (const [k, c] of count) expect(Math.abs(c / nets.length - 0.1), k).toBeLessThan(5 * Math.sqrt(0.09 / nets.length));
    const after = nets.map((n) => keysOf(run('sticky', n, { health: down('many/m3') }))[0]!);
    nets.forEach((n, i) => {
      if (before[i] === 'many/m3') expect(after[i]).not.toBe('many/m3');
      else expect(after[i], n).toBe(before[i]);
    });
  });
});

describe('multivalue', () => {
  it('answers min(usable, max) distinct endpoints', () => {
    expect(run('mv3', US).endpoints.length).toBe(3);
    expect(run('mvall', US).endpoints.length).toBe(8);
    expect(keysOf(run('mveu', US)).sort()).toEqual(['eu/e1', 'eu/e2']);
    const eightDown = Array.from({ length: 8 }, (_, i) => `many/m${i}`);
    expect(keysOf(run('mv3', US, { health: down(...eightDown) })).sort()).toEqual(['many/m8', 'many/m9']);
  });

  it('shuffles with the dice (Fisher–Yates stopped after max places)', () => {
    const chooser = scripted([9, 0, 0]);
    const d = decide(rec('mv3'), client(US), ALL_UP, { chooser });
    expect(keysOf(d)).toEqual(['many/m9', 'many/m1', 'many/m2']);
    expect(chooser.draws.map((w) => w.length)).toEqual([10, 9, 8]);
  });

  it('a preview (order does not matter) gives each of the C(10,3) sets the same share', () => {
    const s = shares('mv3', US);
    expect(s.size).toBe(120);
    for (const v of s.values()) expect(v).toBeCloseTo(1 / 120, 12);
  });

  it('scope 0', () => {
    expect(run('mv3', DE).scope).toBe(0);
  });
});

describe('failover', () => {
  it('answers from the first tier with anything usable', () => {
    expect(keysOf(run('fo', US))).toEqual(['eu/e1', 'eu/e2']);
    const d = run('fo', US, { health: down('eu/e1', 'eu/e2') });
    expect(d.endpoints.every((e) => e.pool === 'us')).toBe(true);
    expect(keysOf(run('fo', US, { health: withRegionsDown(ALL_UP, new Set(['fra', 'iad'])) }))).toEqual(['sa/s1']);
  });

  it('min_healthy: a tier with fewer usable endpoints is skipped, and the trace says why', () => {
    expect(keysOf(run('fomin', US))).toEqual(['eu/e1', 'eu/e2']);
    const trace: TraceStep[] = [];
    const d = run('fomin', US, { health: down('eu/e1'), trace });
    expect(keysOf(d).sort()).toEqual(['us/u1', 'us/u2']);
    expect(trace.some((t) => t.at === 'failover > tier 1' && t.note === 'skipped: 1 usable, min_healthy is 2')).toBe(true);
    // us has 2 usable (u0 is drained, so it does not count); sa never has 2: nothing.
    const none = run('fomin', US, { health: down('eu/e1', 'us/u1') });
    expect(none.allDown).toBe(true);
    expect(rec('fomin').tree.evaluate(contextFor(rec('fomin'), client(US), { health: down('eu/e1', 'us/u1') }), 'failover')).toBeNull();
  });

  it('scope 0 over tiers that do not depend on the client', () => {
    expect(run('fo', DE, { health: down('eu/e1', 'eu/e2') }).scope).toBe(0);
  });
});

describe('geo', () => {
  it('the most specific match answers: subdivision, then country, then continent, then default', () => {
    expect(keysOf(run('geo', US_MN))).toEqual(['sa/s1']);
    expect(keysOf(run('geo', US)).sort()).toEqual(['us/u1', 'us/u2']);
    expect(run('geo', CA!).endpoints.every((e) => e.pool === 'many')).toBe(true);
    expect(keysOf(run('geo', GB))).toEqual(['eu/e1', 'eu/e2']);
    expect(keysOf(run('geo', DE6))).toEqual(['eu/e1', 'eu/e2']);
    expect(run('geo', ZA).endpoints.every((e) => e.pool === 'cdn')).toBe(true);
    expect(run('geo', NOWHERE).endpoints.every((e) => e.pool === 'cdn')).toBe(true);
  });

  it('a matching branch with nothing usable falls back to the next less specific one', () => {
    expect(keysOf(run('geo', US_MN, { health: down('sa/s1') })).sort()).toEqual(['us/u1', 'us/u2']);
    const usDown = withRegionsDown(ALL_UP, new Set(['gru', 'iad']));
    expect(run('geo', US_MN, { health: usDown }).endpoints.every((e) => e.pool === 'many' && e.region === 'fra')).toBe(true);
    const noMany = down('sa/s1', 'us/u1', 'us/u2', ...Array.from({ length: 10 }, (_, i) => `many/m${i}`));
    expect(run('geo', US_MN, { health: noMany }).endpoints.every((e) => e.pool === 'cdn')).toBe(true);
  });

  it('no default and no match: nothing (on_all_down decides)', () => {
    expect(keysOf(run('geonodefault', DE))).toEqual(['eu/e1', 'eu/e2']);
    expect(run('geonodefault', US).allDown).toBe(true);
  });

  it('scope: the geoip block the location came from; 0 when every branch is the same policy', () => {
    // geoip-lite puts 128.101.100.0–128.101.101.255 in US-MN: a /23.
    expect(run('geo', US_MN).scope).toBe(23);
    expect(run('geo', '128.101.101.0/24').scope).toBe(23);
    expect(run('geo', NOWHERE).scope).toBeLessThanOrEqual(32);
    const trace: TraceStep[] = [];
    const same = run('geosame', DE, { trace });
    expect(same.scope).toBe(0);
    expect(trace[0]!.note).toBe('geo: every branch is the same policy; location not needed');
    expect(rec('geosame').tree.clientDependent).toBe(false);
  });
});

describe('latency', () => {
  it('the lowest estimate answers: a table row, else the distance to the client', () => {
    expect(keysOf(run('lat', '198.51.100.7'))).toEqual(['eu/e1', 'eu/e2']);
    expect(keysOf(run('lat', DE))).toEqual(['eu/e1', 'eu/e2']);
    expect(keysOf(run('lat', US)).sort()).toEqual(['us/u1', 'us/u2']);
    expect(keysOf(run('lat', BR!))).toEqual(['sa/s1']);
  });

  it('the best region with nothing usable gives way to the next best', () => {
    expect(keysOf(run('lat', '198.51.100.7', { health: down('eu/e1', 'eu/e2') })).sort()).toEqual(['us/u1', 'us/u2']);
  });

  it('without any estimate, the regions answer in the order written', () => {
    expect(keysOf(run('lat', NOWHERE))).toEqual(['eu/e1', 'eu/e2']);
    expect(keysOf(run('lat', NOWHERE, { health: down('eu/e1', 'eu/e2') })).sort()).toEqual(['us/u1', 'us/u2']);
  });

  it('tolerance_ms: regions within it of the best share the load evenly; outside it they do not', () => {
    // 203.0.113.0/25: fra 50, iad 52, gru 90 ms.
    expect(keysOf(run('lat', '203.0.113.9'))).toEqual(['eu/e1', 'eu/e2']);
    const s = shares('lattol', '203.0.113.9');
    expect(s.get('eu/e1 eu/e2')).toBeCloseTo(0.5, 12);
    expect(s.get('us/u1 us/u2')).toBeCloseTo(0.5, 12);
    expect(s.size).toBe(2);
    const chooser = scripted([1]);
    expect(keysOf(decide(rec('lattol'), client('203.0.113.9'), ALL_UP, { latency: LATENCY, chooser })).sort()).toEqual(['us/u1', 'us/u2']);
    expect(chooser.draws).toEqual([[1, 1]]);
    // fra down: iad is best, and gru (38 ms worse) is outside the tolerance.
    expect(shares('lattol', '203.0.113.9', down('eu/e1', 'eu/e2')).size).toBe(1);
  });

  it('scope: the table row network; else the geoip block', () => {
    expect(run('lat', '198.51.100.7').scope).toBe(24);
    expect(run('lat', '203.0.113.9').scope).toBe(25);
    expect(run('lat', US_MN).scope).toBe(23);
  });
});

describe('cidr', () => {
  it('the longest route holding the client answers; else the default', () => {
    expect(keysOf(run('cidr', '10.1.2.3')).sort()).toEqual(['us/u1', 'us/u2']);
    expect(keysOf(run('cidr', '10.2.0.1'))).toEqual(['eu/e1', 'eu/e2']);
    expect(keysOf(run('cidr', '2001:db8:1000::1'))).toEqual(['eu/e1', 'eu/e2']);
    expect(keysOf(run('cidr', '192.0.2.1'))).toEqual(['sa/s1']);
  });

  it('a route with nothing usable answers from the default, not a shorter route', () => {
    expect(keysOf(run('cidr', '10.1.2.3', { health: down('us/u1', 'us/u2') }))).toEqual(['sa/s1']);
  });

  it('no route and no default: nothing (on_all_down decides)', () => {
    expect(run('cidrnodefault', '192.0.2.1').allDown).toBe(true);
  });

  it('scope: the shortest prefix over which the match is the same (a /16 carved out of a /8)', () => {
    expect(run('cidr', '10.1.2.3').scope).toBe(16);
    // 10.2.0.0/15 holds no part of 10.1.0.0/16; 10.0.0.0/15 does.
    expect(run('cidr', '10.2.0.1').scope).toBe(15);
    expect(run('cidr', '10.0.0.1').scope).toBe(16);
    expect(run('cidr', '10.200.0.1').scope).toBe(9);
    // A /12 client network that holds the carve-out: the decision needed /16, longer than the
    // source prefix (the reply caps it there, RFC 7871 §7.2.1).
    expect(run('cidr', '10.0.0.0/12').scope).toBe(16);
  });
});
