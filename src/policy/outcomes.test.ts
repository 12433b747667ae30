/**
 * policy/evaluate.ts `outcomes`: every decision `decide` can make, with its probability, by
 * walking the random choices the policies make through `ctx.pick` — and the sampled fallback
 * when there are too many. Zones go through the real load path (YAML → compile).
 */
import { describe, expect, it } from 'vitest';
import { loadZoneText } from '../zone/load.js';
import { clientFromText } from './client.js';
import { decide, outcomes } from './evaluate.js';
import { ALL_UP, withEndpointsDown } from './health-view.js';
import type { PolicyRecord } from './types.js';

const ZONE = `zone: o.test
soa: { mname: ns1, rname: hostmaster, serial: 1, refresh: 1h, retry: 10m, expire: 1w, minimum: 5 }
ns: [ns1]
records: [ { name: ns1, type: A, value: 192.0.2.53 } ]
regions:
  - { id: a, location: { lat: 50.1, lon: 8.7 }, country: DE }
  - { id: b, location: { lat: 50.2, lon: 8.8 }, country: DE }
pools:
  - id: w
    endpoints:
      - { id: e1, address: 10.0.0.1, region: a, weight: 1 }
      - { id: e2, address: 10.0.0.2, region: a, weight: 2 }
      - { id: e3, address: 10.0.0.3, region: a, weight: 3 }
      - { id: e4, address: 10.0.0.4, region: b, weight: 4 }
  - id: twelve
    endpoints:
${Array.from({ length: 12 }, (_, i) => `      - { id: t${i}, address: 10.1.0.${i + 1}, region: a }`).join('\n')}
  - id: pa
    endpoints: [ { id: x, address: 10.2.0.1, region: a } ]
  - id: pb
    endpoints: [ { id: y, address: 10.2.0.2, region: b } ]
policies:
  - { name: weighted, type: A, policy: { weighted: { pool: w } } }
  - { name: sticky, type: A, policy: { weighted: { pool: w, sticky: true } } }
  - { name: mv3, type: A, policy: { multivalue: { pool: w, max: 3 } } }
  - { name: mvall, type: A, policy: { multivalue: { pool: w } } }
  - { name: mv12, type: A, policy: { multivalue: { pool: twelve, max: 6 } } }
  - { name: mv12of4, type: A, policy: { multivalue: { pool: twelve, max: 4 } } }
  - name: split
    type: A
    policy: { weighted: { children: [ { weight: 90, policy: { pool: pa } }, { weight: 10, policy: { pool: pb } } ] } }
  - name: tie
    type: A
    policy: { latency: { tolerance_ms: 50, regions: [ { region: a, policy: { pool: pa } }, { region: b, policy: { pool: pb } } ] } }
`;

const loaded = loadZoneText(ZONE, 'o.test.yaml');
if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
const zone = loaded.zone;
const rec = (name: string): PolicyRecord => zone.policies!.records.find((r) => r.owner === `${name}.o.test`)!;
const client = clientFromText('53.128.0.0/24')!;
/** Shares by answered set (sorted values). */
function shares(name: string, health = ALL_UP, maxPaths?: number): { by: Map<string, number>; exact: boolean } {
  const r = outcomes(rec(name), client, health, maxPaths ? { maxPaths } : {});
  const by = new Map<string, number>();
  for (const o of r.outcomes) {
    const k = o.decision.endpoints
      .map((e) => e.value)
      .sort()
      .join(' ');
    by.set(k, (by.get(k) ?? 0) + o.share);
  }
  return { by, exact: r.exact };
}
const total = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0);

describe('outcomes', () => {
  it('weighted: one outcome per endpoint, share weight / total', () => {
    const { by, exact } = shares('weighted');
    expect(exact).toBe(true);
    expect([...by.keys()].sort()).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4']);
    for (const [k, w] of [
      ['10.0.0.1', 0.1],
      ['10.0.0.2', 0.2],
      ['10.0.0.3', 0.3],
      ['10.0.0.4', 0.4],
    ] as const)
      expect(by.get(k)).toBeCloseTo(w, 12);
    // Down endpoints carry no share; the rest are renormalised.
    const down = shares('weighted', withEndpointsDown(ALL_UP, new Set(['w/e4']))).by;
    expect(down.get('10.0.0.3')).toBeCloseTo(0.5, 12);
    expect(down.has('10.0.0.4')).toBe(false);
  });

  it('sticky weighted draws nothing: one outcome, share 1, the one the DNS path gives', () => {
    const { by } = shares('sticky');
    expect(by.size).toBe(1);
    const dns = decide(rec('sticky'), client, ALL_UP)
      .endpoints.map((e) => e.value)
      .join(' ');
    expect(by.get(dns)).toBe(1);
  });

  it('multivalue: sets, not orders — every 3 of 4 with share 1/4; all of them is one set', () => {
    const { by, exact } = shares('mv3');
    expect(exact).toBe(true);
    expect(by.size).toBe(4);
    for (const v of by.values()) expect(v).toBeCloseTo(0.25, 12);
    expect(shares('mvall').by).toEqual(new Map([['10.0.0.1 10.0.0.2 10.0.0.3 10.0.0.4', 1]]));
  });

  it('weighted children and latency ties are walked too', () => {
    const split = shares('split').by;
    expect(split.get('10.2.0.1')).toBeCloseTo(0.9, 12);
    expect(split.get('10.2.0.2')).toBeCloseTo(0.1, 12);
    // The heavier child has nothing usable: the pick falls through to the other every time.
    expect(shares('split', withEndpointsDown(ALL_UP, new Set(['pa/x']))).by).toEqual(new Map([['10.2.0.2', 1]]));
    const tie = shares('tie').by;
    expect(tie.get('10.2.0.1')).toBeCloseTo(0.5, 12);
    expect(tie.get('10.2.0.2')).toBeCloseTo(0.5, 12);
  });

  it('multivalue of 12 with max 4: the 495 sets, each 1/495, walked exactly (not 11,880 orders)', () => {
    const { by, exact } = shares('mv12of4');
    expect(exact).toBe(true);
    expect(by.size).toBe(495);
    for (const v of by.values()) expect(v).toBeCloseTo(1 / 495, 12);
  });

  it('too many paths (924 sets of 6 of 12, with a path cap of 500): sampled with a seeded PRNG, shares still sum to 1', () => {
    const a = shares('mv12', ALL_UP, 500);
    expect(a.exact).toBe(false);
    expect(total(a.by)).toBeCloseTo(1, 9);
    for (const k of a.by.keys()) expect(k.split(' ')).toHaveLength(6);
    // 924 possible sets, each about 1/924; seeded, so the same every time.
    expect(a.by.size).toBeGreaterThan(800);
    expect(a.by.size).toBeLessThanOrEqual(924);
    expect(shares('mv12', ALL_UP, 500).by).toEqual(a.by);
    // Without the low cap, all 924 are walked exactly.
    const exact = shares('mv12');
    expect(exact.exact).toBe(true);
    expect(exact.by.size).toBe(924);
    for (const [k, v] of a.by) expect(Math.abs(v - exact.by.get(k)!)).toBeLessThan(0.005);
  });

  it('the DNS path still rolls the dice (multivalue answers come shuffled)', () => {
    const firsts = new Set<string>();
    for (let i = 0; i < 200; i++) firsts.add(decide(rec('mvall'), client, ALL_UP).endpoints[0]!.value);
    expect(firsts.size).toBe(4);
  });
});
