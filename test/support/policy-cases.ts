/**
 * The one case suite of the policy node contract (src/policy/types.ts `PolicyNode`), in-process:
 * no sockets, the real load path (YAML → schema → policy/compile.ts), and the random choices
 * made by a seeded or scripted chooser (`ctx.pick`), so every run is the same. Every kind of
 * policy runs it (src/policy/kinds.test.ts) with records that exercise it; the cases say what
 * the DNS path (dns/pipeline.ts), the simulator and drill previews rely on, whatever the kind.
 *
 * Also the helpers those tests share: {@link zoneOf}, {@link seededChooser}, {@link scripted},
 * {@link contextFor}.
 */
import { describe, expect, it } from 'vitest';
import { RRType } from '../../src/proto/types.js';
import { policyRRset } from '../../src/dns/answer.js';
import { clientFromText, type Client } from '../../src/policy/client.js';
import { pickWeighted } from '../../src/policy/common.js';
import { decide, outcomes, seededRandom } from '../../src/policy/evaluate.js';
import { ALL_UP, withEndpointsDown, type HealthView } from '../../src/policy/health-view.js';
import type { GeoDatabase } from '../../src/policy/geoip.js';
import type { LatencyTable } from '../../src/policy/latency-table.js';
import type { Chooser, Decision, EvalContext, PolicyRecord, TraceStep } from '../../src/policy/types.js';
import { loadZoneText } from '../../src/zone/load.js';
import type { Zone } from '../../src/zone/zone.js';

// ---- helpers ---------------------------------------------------------------------------------

/** The head of a small YAML zone `p.test`: SOA, NS, regions and pools; append `policies:` etc. */
export const ZONE_HEAD = `zone: p.test
soa: { mname: ns1, rname: hostmaster, serial: 1, refresh: 1h, retry: 10m, expire: 1w, minimum: 5 }
ns: [ns1]
records: [ { name: ns1, type: A, value: 192.0.2.53 } ]
regions:
  - { id: fra, location: { lat: 50.11, lon: 8.68 }, country: DE }
  - { id: iad, location: { lat: 39.04, lon: -77.49 }, country: US }
  - { id: gru, location: { lat: -23.55, lon: -46.63 }, country: BR }
pools:
  - id: eu
    endpoints:
      - { id: e1, address: 10.0.1.1, region: fra, weight: 1 }
      - { id: e2, address: 10.0.1.2, region: fra, weight: 3 }
      - { id: e6, address: "2001:db8:1::1", region: fra }
  - id: us
    endpoints:
      - { id: u1, address: 10.0.2.1, region: iad, weight: 2 }
      - { id: u2, address: 10.0.2.2, region: iad, weight: 2 }
      - { id: u0, address: 10.0.2.3, region: iad, weight: 0 }
  - id: sa
    endpoints: [ { id: s1, address: 10.0.3.1, region: gru } ]
  - id: many
    endpoints:
${Array.from({ length: 10 }, (_, i) => `      - { id: m${i}, address: 10.0.4.${i + 1}, region: ${['fra', 'iad'][i % 2]} }`).join('\n')}
  - id: cdn
    endpoints:
      - { id: c1, hostname: a.cdn.example.net., region: fra }
      - { id: c2, hostname: b.cdn.example.net., region: iad }
`;

/** Loads {@link ZONE_HEAD} plus `rest` (the `policies:` list, a `latency:` table), failing loudly. */
export function zoneOf(rest: string): Zone {
  const r = loadZoneText(ZONE_HEAD + rest, 'p.test.yaml');
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
  return r.zone;
}

/** The policy record `name` (relative to p.test) of the given type (default A). */
export function recordOf(zone: Zone, name: string, rrtype: number = RRType.A): PolicyRecord {
  const owner = name === '@' ? 'p.test' : `${name}.p.test`;
  const rec = zone.policies?.records.find((r) => r.owner === owner && r.rrtype === rrtype);
  if (!rec) throw new Error(`no policy record ${owner} type ${rrtype}`);
  return rec;
}

/** A small seeded PRNG (mulberry32): the one the sampled preview uses. */
export { seededRandom };

/** Weighted dice from a seeded PRNG: the DNS path's chooser, made repeatable. */
export function seededChooser(seed: number, ordered = true): Chooser {
  const rng = seededRandom(seed);
  return { pick: (count, weightOf) => pickWeighted(count, weightOf, rng), ordered };
}

/**
 * A chooser that answers from a script: the i-th draw returns `choices[i]` (and records what it
 * was offered). A script that runs out, or a choice of weight 0, fails the test: a policy drew
 * more often than it should, or was made to pick something it must never pick.
 */
export function scripted(choices: readonly number[], ordered = true): Chooser & { readonly draws: number[][] } {
  const draws: number[][] = [];
  return {
    draws,
    ordered,
    pick(count, weightOf) {
      const weights = Array.from({ length: count }, (_, i) => weightOf(i));
      draws.push(weights);
      if (weights.every((w) => w <= 0)) return -1;
      const c = choices[draws.length - 1];
      if (c === undefined) throw new Error(`draw ${draws.length} was not scripted (weights ${weights.join(', ')})`);
      if (!(weights[c]! > 0)) throw new Error(`draw ${draws.length}: scripted choice ${c} has weight ${weights[c]}`);
      return c;
    },
  };
}

/** An evaluation context for running a node directly (what policy/evaluate.ts `decide` builds). */
export function contextFor(
  record: PolicyRecord,
  client: Client,
  opts: { health?: HealthView; chooser?: Chooser; latency?: LatencyTable | null; geo?: GeoDatabase | null; trace?: TraceStep[] } = {},
): EvalContext {
  const chooser = opts.chooser ?? seededChooser(1);
  const health = opts.health ?? ALL_UP;
  return {
    client,
    health,
    latency: opts.latency ?? null,
    geo: opts.geo ?? null,
    qtype: record.rrtype,
    pick: chooser.pick,
    ordered: chooser.ordered,
    scope: 0,
    trace: opts.trace,
  };
}

export function client(text: string): Client {
  const c = clientFromText(text);
  if (!c) throw new Error(`bad client ${text}`);
  return c;
}

/** Endpoint keys of a decision, in answer order. */
export const keysOf = (d: Decision): string[] => d.endpoints.map((e) => e.key);

// ---- the case suite ----------------------------------------------------------------------------

/** What one kind's run of the suite needs: records of that kind, and clients to ask for. */
export interface PolicyFixture {
  readonly zone: Zone;
  /** Records whose trees exercise the kind (owner names relative to p.test; type A unless given). */
  readonly records: readonly { readonly name: string; readonly rrtype?: number; readonly ttl: number }[];
  /** Client networks to decide for (ECS form `a.b.c.d/n`, or a bare address: /32, /128). */
  readonly clients: readonly string[];
}

/** Flips bit `bit` (0 = most significant) of an address. */
function flipped(bytes: Uint8Array, bit: number): Uint8Array {
  const out = new Uint8Array(bytes);
  out[bit >> 3]! ^= 0x80 >> (bit & 7);
  return out;
}

/** The client `c` with other address bytes (and source prefix), bits past the prefix cleared. */
function sameClientWithBytes(c: Client, bytes: Uint8Array, prefix = c.sourcePrefix): Client {
  const family = c.family;
  const width = family === 4 ? 4 : 16;
  const parts = [...bytes.subarray(0, width)];
  const text = family === 4 ? parts.join('.') : Array.from({ length: 8 }, (_, i) => ((parts[2 * i]! << 8) | parts[2 * i + 1]!).toString(16)).join(':');
  return client(`${text}/${prefix}`);
}

export function policyCases(kind: string, make: () => PolicyFixture): void {
  describe(`policy cases: ${kind}`, () => {
    const f = make();
    const latency = f.zone.policies?.latency ?? null;
    const records = f.records.map((r) => ({ ...r, record: recordOf(f.zone, r.name, r.rrtype) }));
    const clients = f.clients.map(client);
    const run = (record: PolicyRecord, c: Client, health: HealthView = ALL_UP, seed = 7, trace?: TraceStep[]): Decision =>
      decide(record, c, health, { latency, chooser: seededChooser(seed), ...(trace ? { trace } : {}) });

    it('the records are of this kind', () => {
      for (const { record } of records) {
        const kinds: string[] = [];
        const walk = (n: PolicyRecord['tree']): void => {
          kinds.push(n.kind);
          n.children().forEach(walk);
        };
        walk(record.tree);
        expect(kinds, record.owner).toContain(kind);
      }
    });

    it('with every endpoint down the tree has nothing (null), and on_all_down decides', () => {
      for (const { record } of records) {
        const down = withEndpointsDown(ALL_UP, new Set(record.tree.endpoints.map((e) => e.key)));
        for (const c of clients) {
          const ctx = contextFor(record, c, { health: down, latency });
          expect(record.tree.evaluate(ctx, record.tree.kind), `${record.owner} for ${c.text}`).toBeNull();
          expect(record.tree.usableCount(ctx)).toBe(0);
          expect(run(record, c, down).allDown).toBe(true);
        }
      }
    });

    it('answers only usable endpoints of the tree that fit the type, each once', () => {
      for (const { record } of records) {
        const all = new Set(record.tree.endpoints);
        const healths = [ALL_UP, ...record.tree.endpoints.map((e) => withEndpointsDown(ALL_UP, new Set([e.key])))];
        for (const c of clients) {
          for (const h of healths) {
            for (let seed = 1; seed <= 5; seed++) {
              const d = run(record, c, h, seed);
              if (d.allDown) continue;
              expect(d.endpoints.length, `${record.owner} for ${c.text}`).toBeGreaterThan(0);
              expect(new Set(d.endpoints).size).toBe(d.endpoints.length);
              for (const e of d.endpoints) {
                expect(all.has(e), `${e.key} is in the tree of ${record.owner}`).toBe(true);
                expect(h.usable(e) && e.weight > 0, `${e.key} is usable`).toBe(true);
                expect(e.rrtype === RRType.CNAME || e.rrtype === record.rrtype, `${e.key} fits type ${record.rrtype}`).toBe(true);
              }
            }
          }
        }
      }
    });

    it('every random choice goes through ctx.pick: the same dice give the same decision', () => {
      for (const { record } of records) {
        for (const c of clients) {
          const first = run(record, c, ALL_UP, 11);
          for (let i = 0; i < 5; i++) {
            const again = run(record, c, ALL_UP, 11);
            expect(keysOf(again), `${record.owner} for ${c.text}`).toEqual(keysOf(first));
            expect(again.scope).toBe(first.scope);
          }
        }
      }
    });

    it('tracing does not change the decision, and the trace starts at the root', () => {
      for (const { record } of records) {
        for (const c of clients) {
          const trace: TraceStep[] = [];
          const traced = run(record, c, ALL_UP, 3, trace);
          const plain = run(record, c, ALL_UP, 3);
          expect(keysOf(traced)).toEqual(keysOf(plain));
          expect(traced.scope).toBe(plain.scope);
          expect(trace.length, `${record.owner} explains itself`).toBeGreaterThan(0);
          expect(trace[0]!.at.startsWith(record.tree.kind)).toBe(true);
        }
      }
    });

    it('a tree that does not depend on the client answers ECS scope 0 (RFC 7871 §7.2.1)', () => {
      for (const { record } of records) {
        if (record.tree.clientDependent) continue;
        for (const c of clients) expect(run(record, c).scope, `${record.owner} for ${c.text}`).toBe(0);
      }
    });

    it('the scope never claims more than the decision used: every client inside the scope gets the same answer (RFC 7871 §7.2.1)', () => {
      const rng = seededRandom(99);
      for (const { record } of records) {
        for (const c of clients) {
          const d = run(record, c);
          const width = c.family === 4 ? 32 : 128;
          expect(d.scope).toBeGreaterThanOrEqual(0);
          expect(d.scope).toBeLessThanOrEqual(width);
          // A scope longer than the source says "not specific enough": it claims nothing for the source's block.
          if (d.scope > c.sourcePrefix) continue;
          // Clients that agree on the first `scope` bits, with any address after them and any source prefix from the scope on.
          for (let k = 0; k < 12 && d.scope < width; k++) {
            const bit = d.scope + Math.floor(rng() * (width - d.scope));
            const prefix = d.scope + Math.floor(rng() * (width - d.scope + 1));
            const other = sameClientWithBytes(c, flipped(c.bytes, bit), prefix);
            const o = run(record, other);
            expect(keysOf(o), `${record.owner}: ${c.text}/${c.sourcePrefix} (scope ${d.scope}) and ${other.text}/${other.sourcePrefix}`).toEqual(keysOf(d));
          }
        }
      }
    });

    it('the answer carries the record TTL, one type, and a CNAME stands alone (RFC 2181 §5.2, §10.1)', () => {
      for (const { record, ttl, name } of records) {
        expect(record.ttlSeconds, name).toBe(ttl);
        for (const c of clients) {
          const d = run(record, c);
          const set = policyRRset(record.owner, record, d);
          if (!set) {
            expect(d.endpoints).toEqual([]);
            continue;
          }
          expect(set.ttlSeconds).toBe(ttl);
          if (set.type === RRType.CNAME) expect(set.rdatas.length).toBe(1);
          else expect(set.type).toBe(record.rrtype);
        }
      }
    });

    it('drill previews: the outcomes cover every answer, and their shares add up to 1', () => {
      for (const { record } of records) {
        for (const c of clients) {
          const o = outcomes(record, c, ALL_UP, { latency });
          const total = o.outcomes.reduce((n, x) => n + x.share, 0);
          expect(total).toBeCloseTo(1, 9);
          if (!o.exact) continue;
          const seen = new Set(o.outcomes.map((x) => keysOf(x.decision).sort().join(' ')));
          for (let seed = 1; seed <= 20; seed++) {
            const answered = keysOf(run(record, c, ALL_UP, seed))
              .sort()
              .join(' ');
            expect(seen.has(answered), `${record.owner} for ${c.text}: ${answered}`).toBe(true);
          }
        }
      }
    });
  });
}
