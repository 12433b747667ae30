/**
 * The ECS scope property (RFC 7871 §7.2.1, §7.3.1): a scope is the number of leading bits of the
 * client's address that the whole decision depended on, so every client inside the scope gets
 * the same answer. For random client networks and source prefixes (/8 to /32 for IPv4, /16 to
 * /64 for IPv6), over geo, latency (table rows, country rows, distance, tolerance, probe RTTs
 * seen from the nearest checker region), cidr, sticky
 * weighted and a nested tree, with both geolocation databases (the synthetic MaxMind DB in
 * test/fixtures/geo and the embedded geoip-lite): whenever the returned scope is not longer than
 * the source, random clients inside the scope block — any address bits after the scope, any
 * source prefix from the scope on — get the same answer. A scope longer than the source ("not
 * specific enough") is checked the same way around the zero-padded address: the answer is a
 * function of those bits alone. The dice are seeded alike for both decisions.
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RRType } from '../proto/types.js';
import { loadZoneText } from '../zone/load.js';
import { clientFromText, type Client } from './client.js';
import { decide, seededRandom } from './evaluate.js';
import { embeddedGeoip, type GeoDatabase } from './geoip.js';
import { HealthState } from './health-view.js';
import { openMmdb } from './mmdb.js';
import { seededChooser } from '../../test/support/policy-cases.js';
import type { PolicyRecord } from './types.js';

const ep = (pool: string, region: string, n: number, v4: string, v6: string): string =>
  Array.from(
    { length: n },
    (_, i) =>
      `      - { id: ${pool}${i}, address: ${v4}.${i + 1}, region: ${region}, weight: ${i + 1} }\n      - { id: ${pool}${i}v6, address: "${v6}::${i + 1}", region: ${region}, weight: ${i + 1} }`,
  ).join('\n');

const ZONE = `zone: s.test
soa: { mname: ns1, rname: hostmaster, serial: 1, refresh: 1h, retry: 10m, expire: 1w, minimum: 5 }
ns: [ns1]
records: [ { name: ns1, type: A, value: 192.0.2.53 } ]
regions:
  - { id: fra, location: { lat: 50.11, lon: 8.68 }, country: DE }
  - { id: iad, location: { lat: 39.04, lon: -77.49 }, country: US }
  - { id: nrt, location: { lat: 35.69, lon: 139.69 }, country: JP }
pools:
  - id: eu
    endpoints:
${ep('e', 'fra', 3, '10.0.1', '2001:db8:1')}
  - id: us
    endpoints:
${ep('u', 'iad', 3, '10.0.2', '2001:db8:2')}
  - id: ap
    endpoints:
${ep('a', 'nrt', 3, '10.0.3', '2001:db8:3')}
  - id: many
    endpoints:
${ep('m', 'fra', 8, '10.0.4', '2001:db8:4')}
latency:
  - { from: 198.51.100.0/24, rtt_ms: { fra: 90, iad: 5, nrt: 160 } }
  - { from: 198.51.100.128/25, rtt_ms: { fra: 7 } }
  - { from: 203.0.113.0/24, rtt_ms: { nrt: 3 } }
  - { from: 10.1.0.0/16, rtt_ms: { fra: 20, iad: 21, nrt: 22 } }
  - { from: "2001:db8::/32", rtt_ms: { fra: 40, iad: 30 } }
  - { from: "2a00:1450::/32", rtt_ms: { fra: 4, iad: 80, nrt: 200 } }
  - { from: 192.0.0.0/8, rtt_ms: { iad: 50 } }
  - { from: 0.0.0.0/1, rtt_ms: { fra: 60, iad: 60, nrt: 60 } }
  - { from: 81.0.0.0/8, rtt_ms: { fra: 30 } }
  - { from: "2a00::/12", rtt_ms: { nrt: 100 } }
  - { from: JP, rtt_ms: { nrt: 1 } }
  - { from: GB, rtt_ms: { fra: 15, iad: 70, nrt: 220 } }
policies:
${['A', 'AAAA']
  .map(
    (t) => `  - name: geo
    type: ${t}
    policy:
      geo:
        branches:
          - { match: { subdivisions: [GB-ENG] }, policy: { pool: many } }
          - { match: { countries: [US] }, policy: { pool: us } }
          - { match: { countries: [JP] }, policy: { pool: ap } }
          - { match: { continents: [EU] }, policy: { pool: eu } }
        default: { weighted: { pool: many, sticky: true } }
  - name: latency
    type: ${t}
    policy: { latency: { regions: [ { region: fra, policy: { pool: eu } }, { region: iad, policy: { pool: us } }, { region: nrt, policy: { pool: ap } } ] } }
  - name: latencytol
    type: ${t}
    policy: { latency: { tolerance_ms: 40, regions: [ { region: fra, policy: { weighted: { pool: eu } } }, { region: iad, policy: { pool: us } }, { region: nrt, policy: { pool: ap } } ] } }
  - name: latencyprobes
    type: ${t}
    policy: { latency: { rtt_from: probes, tolerance_ms: 10, regions: [ { region: fra, policy: { pool: eu } }, { region: iad, policy: { pool: us } }, { region: nrt, policy: { pool: ap } } ] } }
  - name: cidr
    type: ${t}
    policy:
      cidr:
        routes:
          - { networks: [ 10.0.0.0/8, 198.51.100.0/24, "2001:db8::/32", "2a00::/12" ], policy: { pool: eu } }
          - { networks: [ 10.1.0.0/16, 198.51.100.64/26, "2001:db8:ff00::/40" ], policy: { pool: us } }
          - { networks: [ 10.1.2.0/23, 100.64.0.0/10, "2001:db8:ff80::/41" ], policy: { pool: ap } }
        default: { pool: many }
  - { name: sticky, type: ${t}, policy: { weighted: { pool: many, sticky: true } } }
  - { name: sticky2048, type: ${t}, policy: { weighted: { pool: many, sticky: true, sticky_prefix_v4: 20, sticky_prefix_v6: 48 } } }
  - name: stickychildren
    type: ${t}
    policy: { weighted: { sticky: true, children: [ { weight: 3, policy: { pool: eu } }, { weight: 1, policy: { weighted: { pool: many, sticky: true, sticky_prefix_v4: 28, sticky_prefix_v6: 60 } } } ] } }
  - name: nested
    type: ${t}
    policy:
      geo:
        branches:
          - match: { continents: [NA] }
            policy:
              cidr:
                routes:
                  - { networks: [ 198.51.100.0/25, "2600::/12" ], policy: { weighted: { pool: many, sticky: true, sticky_prefix_v4: 27 } } }
                default: { latency: { regions: [ { region: iad, policy: { pool: us } }, { region: fra, policy: { pool: eu } } ] } }
          - match: { countries: [JP, DE] }
            policy: { failover: { tiers: [ { cidr: { routes: [ { networks: [ 10.0.0.0/9, "2400::/12" ], policy: { pool: ap } } ] } }, { weighted: { pool: many, sticky: true } } ] } }
        default: { latency: { tolerance_ms: 30, regions: [ { region: fra, policy: { weighted: { pool: many, sticky: true } } }, { region: iad, policy: { pool: us } }, { region: nrt, policy: { pool: ap } } ] } }`,
  )
  .join('\n')}
`;

const loaded = loadZoneText(ZONE, 's.test.yaml');
if (!loaded.ok) throw new Error(loaded.errors.map((e) => e.message).join('\n'));
const zone = loaded.zone;
const latency = zone.policies!.latency;
const records = zone.policies!.records;

/** Networks the databases, routes and rows know, so that random clients land near their edges. */
const V4_BASES = ['127.0.0.0', '192.0.2.0', '198.51.100.0', '203.0.113.0', '100.64.0.0', '10.0.0.0', '10.1.2.0', '81.2.69.0', '8.8.8.0', '2.16.0.0'];
const V6_BASES = ['2001:db8::', '2001:db8:ff80::', '2a00:1450:4001::', '2001:4860::', '2400:cb00::', '2600:1f00::', '2003::'];

function bytesOf(text: string): Uint8Array {
  return clientFromText(text)!.bytes;
}

function textOf(family: 4 | 6, b: Uint8Array): string {
  return family === 4 ? [...b.subarray(0, 4)].join('.') : Array.from({ length: 8 }, (_, i) => ((b[2 * i]! << 8) | b[2 * i + 1]!).toString(16)).join(':');
}

/** `base` with random bits from bit `from` on (a random address when there is no base). */
function randomAddress(rng: () => number, family: 4 | 6, base: Uint8Array | null, from: number): Uint8Array {
  const width = family === 4 ? 32 : 128;
  const out = new Uint8Array(16);
  for (let bit = 0; bit < width; bit++) {
    const keep = base !== null && bit < from;
    const v = keep ? (base[bit >> 3]! >> (7 - (bit & 7))) & 1 : rng() < 0.5 ? 1 : 0;
    if (v) out[bit >> 3]! |= 0x80 >> (bit & 7);
  }
  return out;
}

function clientOf(family: 4 | 6, b: Uint8Array, prefix: number): Client {
  return clientFromText(`${textOf(family, b)}/${prefix}`)!;
}

/** A random client network: near a known network half of the time, else anywhere. */
function randomClient(rng: () => number, family: 4 | 6): Client {
  const [lo, hi] = family === 4 ? [8, 32] : [16, 64];
  const bases = family === 4 ? V4_BASES : V6_BASES;
  const base = rng() < 0.6 ? bytesOf(bases[Math.floor(rng() * bases.length)]!) : null;
  const from = Math.floor(rng() * (family === 4 ? 32 : 64));
  const prefix = lo + Math.floor(rng() * (hi - lo + 1));
  return clientOf(family, randomAddress(rng, family, base, from), prefix);
}

/**
 * Smoothed probe RTTs from two checker regions (fra and nrt) that disagree, so that which one is
 * nearest the client decides a `rtt_from: probes` policy; iad measured nothing (table, distance).
 */
const health = new HealthState();
for (const [checker, pool, ms] of [
  ['fra', 'e', 4],
  ['fra', 'a', 150],
  ['nrt', 'e', 210],
  ['nrt', 'a', 3],
  ['nrt', 'u', 95],
] as const) {
  health.setProbeRtt(checker, `${pool === 'e' ? 'eu' : pool === 'a' ? 'ap' : 'us'}/${pool}0`, ms);
  health.setProbeRtt(checker, `${pool === 'e' ? 'eu' : pool === 'a' ? 'ap' : 'us'}/${pool}0v6`, ms + 1);
}

const answer = (rec: PolicyRecord, c: Client, geo: GeoDatabase, seed: number): string[] =>
  decide(rec, c, health, { latency, geo, chooser: seededChooser(seed) }).endpoints.map((e) => e.key);

const DATABASES: [string, () => GeoDatabase][] = [
  ['the synthetic MaxMind DB', () => openMmdb(fs.readFileSync(new URL('../../test/fixtures/geo/gslb-test-city.mmdb', import.meta.url)), 'gslb-test-city.mmdb')],
  ['geoip-lite', embeddedGeoip],
];

describe.each(DATABASES)('ECS scopes are true (RFC 7871 §7.2.1) with %s', (_name, open) => {
  const geo = open();
  for (const family of [4, 6] as const) {
    const rrtype = family === 4 ? RRType.A : RRType.AAAA;
    for (const rec of records.filter((r) => r.rrtype === rrtype)) {
      it(`${rec.owner} ${family === 4 ? 'A, IPv4 /8–/32' : 'AAAA, IPv6 /16–/64'}: every client inside the scope gets the same answer`, () => {
        const rng = seededRandom(family * 1000 + rec.owner.length);
        const width = family === 4 ? 32 : 128;
        let within = 0;
        let longer = 0;
        for (let n = 0; n < 250; n++) {
          const c = randomClient(rng, family);
          const seed = 1 + Math.floor(rng() * 1000);
          const d = decide(rec, c, health, { latency, geo, chooser: seededChooser(seed) });
          expect(d.scope).toBeGreaterThanOrEqual(0);
          expect(d.scope).toBeLessThanOrEqual(width);
          if (d.scope <= c.sourcePrefix) within++;
          else longer++;
          const keys = d.endpoints.map((e) => e.key);
          for (let k = 0; k < 6; k++) {
            // Another client inside the scope: the first `scope` bits kept, the rest random, any prefix from the scope on.
            const inside = randomAddress(rng, family, c.bytes, d.scope);
            const prefix = d.scope + Math.floor(rng() * (width - d.scope + 1));
            if (prefix === 0) continue; // a /0 source opts out of tailoring (RFC 7871 §7.1.2)
            const other = clientOf(family, inside, prefix);
            expect(answer(rec, other, geo, seed), `${c.text}/${c.sourcePrefix} scope ${d.scope} vs ${other.text}/${other.sourcePrefix}`).toEqual(keys);
          }
        }
        // Both cases are exercised: scopes within the source, and longer ones ("not specific enough").
        if (rec.tree.clientDependent) expect(within, 'scopes within the source').toBeGreaterThan(0);
        expect(within + longer).toBe(250);
      });
    }
  }
});
