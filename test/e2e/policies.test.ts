/**
 * Routing policies end to end: real queries over UDP to a running node, with the client subnet
 * sent as a real EDNS Client Subnet option (RFC 7871), and the health view and overrides set
 * directly (the health-check issue fills the same view for real).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ask, type Reply } from '../support/dns-client.js';
import { startTestNode } from '../support/tools.js';
import type { RunningNode } from '../../src/node/node.js';
import type { HealthState } from '../../src/policy/health-view.js';

const ZONE = `
zone: lb.test
ttl: 300
soa: { mname: ns1, rname: hostmaster, serial: 1, refresh: 1h, retry: 10m, expire: 1w, minimum: 60 }
ns: [ns1]
records:
  - { name: ns1, type: A, value: 192.0.2.53 }
  - { name: www, type: CNAME, value: comp }
  - { name: both, type: TXT, value: '"static beside a policy"' }

regions:
  - { id: us-east, location: { lat: 39.04, lon: -77.49 }, country: US }
  - { id: us-west, location: { lat: 45.52, lon: -122.68 }, country: US }
  - { id: eu-west, location: { lat: 53.35, lon: -6.26 }, country: IE }
  - { id: eu-central, location: { lat: 50.11, lon: 8.68 }, country: DE }

pools:
  - id: w4
    endpoints:
      - { id: a, address: 10.0.0.1, region: us-east, weight: 1 }
      - { id: b, address: 10.0.0.2, region: us-east, weight: 2 }
      - { id: c, address: 10.0.0.3, region: us-east, weight: 3 }
      - { id: d, address: 10.0.0.4, region: us-east, weight: 4 }
      - { id: z, address: 10.0.0.5, region: us-east, weight: 0 }
  - id: ten
    endpoints:
${Array.from({ length: 10 }, (_, i) => `      - { id: e${i}, address: 10.1.0.${i + 1}, region: us-east }`).join('\n')}
  - id: use
    endpoints:
      - { id: use-a, address: 10.2.0.1, region: us-east }
      - { id: use-b, address: 10.2.0.2, region: us-east }
  - id: usw
    endpoints:
      - { id: usw-a, address: 10.3.0.1, region: us-west }
  - id: euw
    endpoints:
      - { id: euw-a, address: 10.4.0.1, region: eu-west }
      - { id: euw-b, address: 10.4.0.2, region: eu-west }
  - id: euc
    endpoints:
      - { id: euc-a, address: 10.5.0.1, region: eu-central }
  - id: v6
    endpoints:
      - { id: six-a, address: "2001:db8::1", region: eu-west }
      - { id: six-b, address: "2001:db8::2", region: us-east }
  - id: v6b
    endpoints:
      - { id: six-c, address: "2001:db8::3", region: us-west }
  - id: sorry
    endpoints:
      - { id: page, address: 10.9.9.9, region: us-east }
  - id: names
    endpoints:
      - { id: one, hostname: one.cdn.example., region: us-east }
      - { id: two, hostname: two.cdn.example., region: eu-west }

policies:
  - { name: wt, type: A, policy: { weighted: { pool: w4 } } }
  - { name: sticky, type: A, policy: { weighted: { pool: ten, sticky: true } } }
  - { name: mv, type: A, policy: { multivalue: { pool: ten, max: 3 } } }
  - { name: all, type: A, policy: { pool: use } }
  - name: fo
    type: A
    ttl: 10
    policy: { failover: { min_healthy: 2, tiers: [ { pool: use }, { pool: euw }, { pool: euc } ] } }
  - name: none
    type: A
    on_all_down: serve_none
    policy: { pool: euc }
  - name: fallback
    type: A
    on_all_down: { pool: sorry }
    policy: { pool: euc }
  - name: geo
    type: A
    policy:
      geo:
        branches:
          - { match: { subdivisions: [GB-ENG] }, policy: { pool: euc } }
          - { match: { countries: [GB, NL] }, policy: { pool: euw } }
          - { match: { continents: [NA] }, policy: { pool: use } }
        default: { pool: usw }
  - name: nodefault
    type: A
    on_all_down: serve_none
    policy: { geo: { branches: [ { match: { continents: [EU] }, policy: { pool: euw } } ] } }
  - name: samegeo
    type: A
    policy: { geo: { branches: [ { match: { continents: [EU] }, policy: { pool: use } } ], default: { pool: use } } }
  - name: lat
    type: A
    policy:
      latency:
        regions:
          - { region: us-east, policy: { pool: use } }
          - { region: us-west, policy: { pool: usw } }
          - { region: eu-west, policy: { pool: euw } }
          - { region: eu-central, policy: { pool: euc } }
  - name: cidr
    type: A
    policy:
      cidr:
        routes:
          - { networks: [100.64.0.0/10], policy: { pool: euw } }
          - { networks: [100.64.8.0/24, "2001:db8:aa::/48"], policy: { pool: euc } }
        default: { pool: use }
  - name: cidr
    type: AAAA
    policy: { cidr: { routes: [ { networks: ["2001:db8:aa::/48"], policy: { pool: v6 } } ], default: { pool: v6b } } }
  - { name: both, type: A, policy: { pool: usw } }
  - { name: cdn, type: CNAME, policy: { failover: { tiers: [ { pool: names } ] } } }
  - { name: "*.wild", type: A, policy: { pool: euc } }
  - name: comp
    type: A
    ttl: 15
    policy:
      geo:
        branches:
          - match: { continents: [EU] }
            policy:
              latency:
                regions:
                  - { region: eu-west, policy: { failover: { tiers: [ { weighted: { pool: euw } }, { weighted: { pool: euc } } ] } } }
                  - { region: eu-central, policy: { failover: { tiers: [ { weighted: { pool: euc } }, { weighted: { pool: euw } } ] } } }
          - match: { continents: [NA] }
            policy:
              latency:
                regions:
                  - { region: us-east, policy: { failover: { tiers: [ { weighted: { pool: use } }, { weighted: { pool: usw } } ] } } }
                  - { region: us-west, policy: { failover: { tiers: [ { weighted: { pool: usw } }, { weighted: { pool: use } } ] } } }
        default: { pool: use }

latency:
  - { from: 198.51.100.0/24, rtt_ms: { us-west: 5, us-east: 60, eu-west: 140, eu-central: 150 } }
  - { from: PT, rtt_ms: { eu-central: 10, eu-west: 40 } }
`;

type Ecs = { family: 1 | 2; sourcePrefix: number; address: string };

// Documented public networks whose geolocation is stable in the GeoLite2 data shipped with
// geoip-lite: a UK ISP block (St Albans, England), Google's 8.8.8.0/24 (US), RIPE NCC (NL).
const UK: Ecs = { family: 1, sourcePrefix: 24, address: '81.2.69.0' };
const US: Ecs = { family: 1, sourcePrefix: 24, address: '8.8.8.0' };
const NL6: Ecs = { family: 2, sourcePrefix: 48, address: '2001:67c:2e8::' };
const PT: Ecs = { family: 1, sourcePrefix: 24, address: '193.136.0.0' }; // FCCN, Portugal
const JP: Ecs = { family: 1, sourcePrefix: 24, address: '133.11.0.0' }; // University of Tokyo
const TABLE_NET: Ecs = { family: 1, sourcePrefix: 24, address: '198.51.100.0' };

let node: RunningNode;
let health: HealthState;
let dir: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-policies-'));
  fs.writeFileSync(path.join(dir, 'lb.test.yaml'), ZONE);
  node = await startTestNode(dir);
  health = node.holder.health;
});
afterAll(async () => {
  await node?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  health.clearHealth();
  for (const k of [...health.overrides().endpoints.keys()]) health.setOverride({ endpoint: k }, null);
  for (const k of [...health.overrides().regions.keys()]) health.setOverride({ region: k }, null);
});

function q(name: string, type = 'A', ecs?: Ecs): Promise<Reply> {
  return ask(node.dns.port, `${name}.lb.test`, type, ecs ? { ecs } : {});
}
function addrs(r: Reply): string[] {
  return (r.answers ?? [])
    .filter((a) => a.type === 'A' || a.type === 'AAAA')
    .map((a) => String(a.data))
    .sort();
}
/** The ECS option echoed in the reply: [source, scope]. */
function scopeOf(r: Reply): { source: number; scope: number } | null {
  const opt = (r.additionals ?? []).find((a) => a.type === 'OPT') as
    | { options?: { code: number; sourcePrefixLength: number; scopePrefixLength: number }[] }
    | undefined;
  const ecs = opt?.options?.find((o) => o.code === 8);
  return ecs ? { source: ecs.sourcePrefixLength, scope: ecs.scopePrefixLength } : null;
}
function down(...keys: string[]): void {
  for (const k of keys) health.setHealth(k, 'down');
}

interface Case {
  name: string;
  q: [string, string?];
  ecs?: Ecs;
  setup?: () => void;
  rcode?: string;
  answer: string[] | ((a: string[]) => boolean);
  scope?: number;
  ttl?: number;
  cname?: string;
}

const cases: Case[] = [
  // pool leaf
  {
    name: 'pool: every usable endpoint, scope 0 (RFC 7871 §7.2.1: not client-dependent)',
    q: ['all'],
    ecs: US,
    answer: ['10.2.0.1', '10.2.0.2'],
    scope: 0,
    ttl: 30,
  },
  { name: 'pool: a down endpoint is left out', q: ['all'], setup: () => down('use/use-a'), answer: ['10.2.0.2'] },
  { name: 'pool: unknown health counts as up', q: ['all'], setup: () => health.setHealth('use/use-a', 'unknown'), answer: ['10.2.0.1', '10.2.0.2'] },
  {
    name: 'pool: a drained endpoint (override) is left out',
    q: ['all'],
    setup: () => health.setOverride({ endpoint: 'use/use-b' }, { kind: 'drain' }),
    answer: ['10.2.0.1'],
  },
  {
    name: 'pool: force_up beats a down verdict',
    q: ['all'],
    setup: () => {
      down('use/use-a');
      health.setOverride({ endpoint: 'use/use-a' }, { kind: 'force_up' });
    },
    answer: ['10.2.0.1', '10.2.0.2'],
  },
  {
    name: 'pool: an expired override lifts by itself',
    q: ['all'],
    setup: () => health.setOverride({ endpoint: 'use/use-a' }, { kind: 'force_down', expiresAt: Date.now() - 1 }),
    answer: ['10.2.0.1', '10.2.0.2'],
  },
  // weighted
  { name: 'weighted: one endpoint, never the weight-0 one, scope 0', q: ['wt'], ecs: US, answer: (a) => a.length === 1 && a[0] !== '10.0.0.5', scope: 0 },
  { name: 'weighted: only the usable one answers', q: ['wt'], setup: () => down('w4/a', 'w4/b', 'w4/c'), answer: ['10.0.0.4'] },
  { name: 'weighted sticky: scope is the /24 (RFC 7871 §7.2.1)', q: ['sticky'], ecs: US, answer: (a) => a.length === 1, scope: 24 },
  {
    // The /24 8.8.0.0/24 is hashed: scope 24, longer than the source ("not specific enough", RFC 7871 §7.2.1).
    name: 'weighted sticky: a /16 source gets the /24 scope it was hashed on',
    q: ['sticky'],
    ecs: { family: 1, sourcePrefix: 16, address: '8.8.0.0' },
    answer: (a) => a.length === 1,
    scope: 24,
  },
  {
    name: 'weighted sticky: IPv6 clients keyed on /56',
    q: ['sticky'],
    ecs: { family: 2, sourcePrefix: 64, address: '2001:db8:1:2::' },
    answer: (a) => a.length === 1,
    scope: 56,
  },
  // multivalue
  { name: 'multivalue: at most max healthy endpoints', q: ['mv'], answer: (a) => a.length === 3 && new Set(a).size === 3 },
  {
    name: 'multivalue: fewer when fewer are usable',
    q: ['mv'],
    setup: () => down(...Array.from({ length: 8 }, (_, i) => `ten/e${i}`)),
    answer: ['10.1.0.10', '10.1.0.9'],
  },
  // failover
  { name: 'failover: tier 1 while it has min_healthy (2) usable', q: ['fo'], answer: ['10.2.0.1', '10.2.0.2'], ttl: 10 },
  { name: 'failover: tier 2 when tier 1 falls below min_healthy', q: ['fo'], setup: () => down('use/use-a'), answer: ['10.4.0.1', '10.4.0.2'] },
  {
    name: 'failover: no tier has min_healthy → on_all_down (serve_all)',
    q: ['fo'],
    setup: () => down('use/use-a', 'euw/euw-b'),
    answer: ['10.2.0.1', '10.2.0.2', '10.4.0.1', '10.4.0.2', '10.5.0.1'],
  },
  {
    name: 'failover: a region override takes out a tier',
    q: ['fo'],
    setup: () => health.setOverride({ region: 'us-east' }, { kind: 'force_down' }),
    answer: ['10.4.0.1', '10.4.0.2'],
  },
  // all down
  { name: 'all down, serve_none: NODATA with the SOA (RFC 2308 §2.2)', q: ['none'], setup: () => down('euc/euc-a'), answer: [] },
  { name: 'all down, fallback pool answers', q: ['fallback'], setup: () => down('euc/euc-a'), answer: ['10.9.9.9'] },
  { name: 'all down, serve_all (default) fails open', q: ['all'], setup: () => down('use/use-a', 'use/use-b'), answer: ['10.2.0.1', '10.2.0.2'] },
  {
    name: 'all down, serve_all still leaves out what an operator forced down',
    q: ['all'],
    setup: () => {
      down('use/use-b');
      health.setOverride({ endpoint: 'use/use-a' }, { kind: 'force_down' });
    },
    answer: ['10.2.0.2'],
  },
  // geo
  // geoip-lite's record holding 81.2.69.0 is a /27: the scope says so, past the /24 source (RFC 7871 §7.2.1).
  { name: 'geo: subdivision wins over country (GB-ENG)', q: ['geo'], ecs: UK, answer: ['10.5.0.1'], scope: 27 },
  { name: 'geo: subdivision branch down → country branch', q: ['geo'], ecs: UK, setup: () => down('euc/euc-a'), answer: ['10.4.0.1', '10.4.0.2'] },
  { name: 'geo: continent NA', q: ['geo'], ecs: US, answer: ['10.2.0.1', '10.2.0.2'], scope: 23 },
  { name: 'geo: IPv6 client in NL → country branch, scope = the geoip block (a /48 here)', q: ['geo'], ecs: NL6, answer: ['10.4.0.1', '10.4.0.2'], scope: 48 },
  { name: 'geo: no match → default', q: ['geo'], ecs: JP, answer: ['10.3.0.1'] },
  { name: 'geo: no match and no default → on_all_down (serve_none)', q: ['nodefault'], ecs: JP, answer: [] },
  { name: 'geo: every branch the same policy → scope 0', q: ['samegeo'], ecs: UK, answer: ['10.2.0.1', '10.2.0.2'], scope: 0 },
  // latency
  { name: 'latency: table CIDR row wins (us-west 5 ms), scope from the row', q: ['lat'], ecs: TABLE_NET, answer: ['10.3.0.1'], scope: 24 },
  { name: 'latency: table country row (PT → eu-central 10 ms)', q: ['lat'], ecs: PT, answer: ['10.5.0.1'] },
  { name: 'latency: distance estimate: a UK client goes to Dublin', q: ['lat'], ecs: UK, answer: ['10.4.0.1', '10.4.0.2'] },
  { name: 'latency: distance estimate: a US (Kansas) client goes to Virginia', q: ['lat'], ecs: US, answer: ['10.2.0.1', '10.2.0.2'] },
  { name: 'latency: nearest region down → next nearest', q: ['lat'], ecs: UK, setup: () => down('euw/euw-a', 'euw/euw-b'), answer: ['10.5.0.1'] },
  {
    name: 'latency: a drained region is skipped',
    q: ['lat'],
    ecs: UK,
    setup: () => health.setOverride({ region: 'eu-west' }, { kind: 'drain' }),
    answer: ['10.5.0.1'],
  },
  // cidr
  {
    name: 'cidr: longest prefix wins (/24 inside the /10), scope /24',
    q: ['cidr'],
    ecs: { family: 1, sourcePrefix: 24, address: '100.64.8.0' },
    answer: ['10.5.0.1'],
    scope: 24,
  },
  {
    name: 'cidr: in the /10 but near the /24 hole → scope long enough to exclude it',
    q: ['cidr'],
    ecs: { family: 1, sourcePrefix: 24, address: '100.64.9.0' },
    answer: ['10.4.0.1', '10.4.0.2'],
    scope: 24,
  },
  {
    name: 'cidr: in the /10 far from the hole → scope /11 (what it shares with the hole, plus one bit)',
    q: ['cidr'],
    ecs: { family: 1, sourcePrefix: 24, address: '100.96.0.0' },
    answer: ['10.4.0.1', '10.4.0.2'],
    scope: 11,
  },
  {
    name: 'cidr: no route → default, scope just wide enough to miss every route',
    q: ['cidr'],
    ecs: { family: 1, sourcePrefix: 24, address: '8.8.8.0' },
    answer: ['10.2.0.1', '10.2.0.2'],
    scope: 2,
  },
  {
    name: 'cidr: IPv6 route',
    q: ['cidr', 'AAAA'],
    ecs: { family: 2, sourcePrefix: 56, address: '2001:db8:aa:100::' },
    answer: ['2001:db8::1', '2001:db8::2'],
    scope: 48,
  },
  {
    name: 'cidr: IPv6 client outside every route → default',
    q: ['cidr', 'AAAA'],
    ecs: { family: 2, sourcePrefix: 56, address: '2001:db8:bb::' },
    answer: ['2001:db8::3'],
  },
  // types and names
  { name: 'a policy name with no AAAA policy: NODATA for AAAA (RFC 2308 §2.2)', q: ['all', 'AAAA'], answer: [] },
  { name: 'static TXT beside an A policy still answers', q: ['both', 'TXT'], answer: (a) => a.length === 0 },
  { name: 'A policy beside a static TXT', q: ['both'], answer: ['10.3.0.1'] },
  { name: 'CNAME policy: hostname answered as CNAME for A', q: ['cdn'], answer: [], cname: 'one.cdn.example' },
  { name: 'CNAME policy: primary down → the next hostname', q: ['cdn', 'AAAA'], setup: () => down('names/one'), answer: [], cname: 'two.cdn.example' },
  { name: 'wildcard policy (RFC 4592): synthesised for any name below', q: ['x.y.wild'], answer: ['10.5.0.1'] },
  { name: 'a static CNAME chain into a policy record', q: ['www'], ecs: US, answer: (a) => a.length === 1 && a[0]!.startsWith('10.2.0.'), scope: 23 },
];

describe('policies over UDP with ECS (table-driven)', () => {
  for (const c of cases) {
    it(c.name, async () => {
      c.setup?.();
      const r = await q(c.q[0], c.q[1] ?? 'A', c.ecs);
      expect(r.rcode).toBe(c.rcode ?? 'NOERROR');
      const got = addrs(r);
      if (typeof c.answer === 'function') expect(c.answer(got), `answer ${JSON.stringify(got)}`).toBe(true);
      else expect(got).toEqual([...c.answer].sort());
      if (Array.isArray(c.answer) && c.answer.length === 0 && !c.cname) {
        // Negative answers carry the SOA with the RFC 2308 §3 TTL.
        expect((r.authorities ?? []).map((a) => a.type)).toEqual(['SOA']);
      }
      if (c.cname) expect((r.answers ?? []).filter((a) => a.type === 'CNAME').map((a) => a.data)).toEqual([c.cname]);
      if (c.scope !== undefined) expect(scopeOf(r)).toEqual({ source: c.ecs!.sourcePrefix, scope: c.scope });
      if (c.ttl !== undefined) for (const a of r.answers ?? []) expect(a.ttl).toBe(c.ttl);
      expect(r.flags & 0x400, 'AA').toBeTruthy();
    });
  }

  it('no ECS in the query → no ECS in the answer, decision from the source address (RFC 7871 §7.2.2)', async () => {
    const r = await q('geo');
    expect(scopeOf(r)).toBeNull();
    expect(addrs(r)).toEqual(['10.3.0.1']); // 127.0.0.1 has no location → default
  });
});

/** Sends many queries, `concurrency` at a time. */
async function many<T>(n: number, concurrency: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await fn(i);
      }
    }),
  );
  return out;
}

describe('statistics', () => {
  it('weighted: 30,000 answers split within 2 points of the weights (1:2:3:4)', async () => {
    const answers = await many(30_000, 64, async () => addrs(await q('wt'))[0]!);
    const counts = new Map<string, number>();
    for (const a of answers) counts.set(a, (counts.get(a) ?? 0) + 1);
    expect(counts.has('10.0.0.5')).toBe(false); // weight 0
    const expected: Record<string, number> = { '10.0.0.1': 0.1, '10.0.0.2': 0.2, '10.0.0.3': 0.3, '10.0.0.4': 0.4 };
    for (const [ip, share] of Object.entries(expected)) {
      expect(Math.abs((counts.get(ip) ?? 0) / answers.length - share), ip).toBeLessThan(0.02);
    }
  }, 120_000);

  it('sticky: each /24 keeps its endpoint; removing 1 of 10 moves at most ~15% of clients', async () => {
    const nets = Array.from({ length: 2000 }, (_, i) => `${20 + (i >> 8)}.${i & 255}.${(i * 7) & 255}.0`);
    const ecs = (a: string): Ecs => ({ family: 1, sourcePrefix: 24, address: a });
    const first = await many(nets.length, 64, async (i) => addrs(await q('sticky', 'A', ecs(nets[i]!)))[0]!);
    const again = await many(nets.length, 64, async (i) => addrs(await q('sticky', 'A', ecs(nets[i]!)))[0]!);
    expect(again).toEqual(first);
    // Every endpoint gets some clients (equal weights: ~10% each).
    const per = new Map<string, number>();
    for (const a of first) per.set(a, (per.get(a) ?? 0) + 1);
    expect(per.size).toBe(10);
    for (const n of per.values()) expect(n / nets.length).toBeGreaterThan(0.06);

    down('ten/e3');
    const after = await many(nets.length, 64, async (i) => addrs(await q('sticky', 'A', ecs(nets[i]!)))[0]!);
    let moved = 0;
    for (let i = 0; i < nets.length; i++) {
      if (after[i] !== first[i]) {
        moved++;
        expect(first[i], 'only clients of the removed endpoint move').toBe('10.1.0.4');
      }
    }
    expect(after).not.toContain('10.1.0.4');
    expect(moved / nets.length).toBeLessThanOrEqual(0.15);
  }, 120_000);

  it('multivalue: answers are shuffled (the first address varies)', async () => {
    const firsts = new Set(await many(200, 16, async () => String((await q('mv')).answers?.[0]?.data)));
    expect(firsts.size).toBeGreaterThan(3);
  });
});

describe('a composed tree (geo → latency → failover → weighted), failing region by region', () => {
  it('moves step by step and fails open when everything is down', async () => {
    const eu = async () => addrs(await q('comp', 'A', UK));
    const na = async () => addrs(await q('comp', 'A', US));
    // Healthy: the UK goes to Dublin (weighted: one of two), the US to Virginia.
    expect(['10.4.0.1', '10.4.0.2']).toContain((await eu())[0]);
    expect(['10.2.0.1', '10.2.0.2']).toContain((await na())[0]);
    const r = await q('comp', 'A', UK);
    expect(r.answers?.[0]?.ttl).toBe(15);
    // geoip-lite's record for 81.2.69.0 is a /27: longer than the /24 source (RFC 7871 §7.2.1, "not specific enough").
    expect(scopeOf(r)?.scope).toBe(27);

    down('euw/euw-a'); // one Dublin endpoint down: weighted picks the other
    for (let i = 0; i < 20; i++) expect(await eu()).toEqual(['10.4.0.2']);
    down('euw/euw-b'); // Dublin down: failover tier 2 inside eu-west → Frankfurt
    expect(await eu()).toEqual(['10.5.0.1']);
    health.setOverride({ region: 'eu-central' }, { kind: 'force_down', reason: 'drill' }); // Europe gone
    // EU branch has nothing: geo falls back to its default (us-east pool).
    expect(await eu()).toEqual(['10.2.0.1', '10.2.0.2']);
    down('use/use-a', 'use/use-b'); // US East down: the US goes to US West through failover
    expect(await na()).toEqual(['10.3.0.1']);
    down('usw/usw-a'); // everything down: serve_all fails open, without the forced-down region
    const open = await na();
    expect(open).toEqual(['10.2.0.1', '10.2.0.2', '10.3.0.1', '10.4.0.1', '10.4.0.2'].sort());
    expect(open).not.toContain('10.5.0.1');
    // Recovery: US East back → the US is answered normally again.
    health.setHealth('use/use-a', 'up');
    expect(await na()).toEqual(['10.2.0.1']);
  });
});
