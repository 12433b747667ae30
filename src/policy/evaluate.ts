/**
 * @module policy/evaluate
 * Evaluates a policy record for one client: walks its tree, and when the tree finds nothing
 * usable applies the record's `on_all_down`. The DNS path (dns/pipeline.ts) and the simulator
 * both call {@link decide}; there is no second implementation. {@link outcomes} runs the same
 * `decide` once per possible sequence of random choices, for drill previews (drill/preview.ts).
 *
 * `on_all_down` (never SERVFAIL because of health, docs/policies/README.md, "When nothing is usable"):
 * | setting      | answer when the tree has nothing usable                                    |
 * | ------------ | -------------------------------------------------------------------------- |
 * | `serve_all`  | every endpoint of the tree not drained or forced down by an operator (if that leaves none, every endpoint): fail open, as Route 53 does |
 * | `serve_none` | NODATA with the SOA (RFC 2308 §2.2)                                         |
 * | `pool: ID`   | the usable endpoints of that pool, or all of them if none is usable        |
 */
import { note, pickWeighted } from './common.js';
import type { Client } from './client.js';
import type { HealthView } from './health-view.js';
import type { LatencyTable } from './latency-table.js';
import type { GeoDatabase } from './geoip.js';
import type { Chooser, Decision, Endpoint, EvalContext, PolicyRecord, TraceStep } from './types.js';

const random = Math.random;
/** The DNS path's dice: one shared object, nothing allocated per query. */
export const RANDOM_CHOOSER: Chooser = { pick: (count, weightOf) => pickWeighted(count, weightOf, random), ordered: true };

export interface DecideOptions {
  readonly latency?: LatencyTable | null;
  /** The geolocation database; default the embedded one (geoip-lite), loaded on first use. */
  readonly geo?: GeoDatabase | null;
  /** Where random choices come from; default {@link RANDOM_CHOOSER}. */
  readonly chooser?: Chooser;
  /** Collects the explanation (simulator). */
  readonly trace?: TraceStep[];
}

function failOpen(endpoints: readonly Endpoint[], health: HealthView): Endpoint[] {
  const open = endpoints.filter((e) => health.weight(e) > 0 && !health.excludedByOperator(e));
  return open.length > 0 ? open : [...endpoints];
}

export function decide(record: PolicyRecord, client: Client, health: HealthView, opts: DecideOptions = {}): Decision {
  const ctx: EvalContext = {
    client,
    health,
    latency: opts.latency ?? null,
    geo: opts.geo ?? null,
    qtype: record.rrtype,
    pick: (opts.chooser ?? RANDOM_CHOOSER).pick,
    ordered: (opts.chooser ?? RANDOM_CHOOSER).ordered,
    scope: 0,
    trace: opts.trace,
  };
  const picked = record.tree.evaluate(ctx, record.tree.kind);
  if (picked) return { endpoints: picked, scope: ctx.scope, allDown: false };

  const all = record.onAllDown;
  let endpoints: Endpoint[];
  if (all.kind === 'serve_none') {
    endpoints = [];
    note(ctx, 'on_all_down', 'nothing usable: serve_none (NODATA)');
  } else if (all.kind === 'serve_all') {
    endpoints = failOpen(record.tree.endpoints, health);
    note(ctx, 'on_all_down', `nothing usable: serve_all (fail open) with ${endpoints.length} endpoint(s)`);
  } else {
    const usable = all.pool.endpoints.filter((e) => health.weight(e) > 0 && health.usable(e));
    endpoints = usable.length > 0 ? usable : failOpen(all.pool.endpoints, health);
    note(ctx, 'on_all_down', `nothing usable: fallback pool ${all.pool.id} with ${endpoints.length} endpoint(s)`);
  }
  return { endpoints, scope: ctx.scope, allDown: true };
}

/** One possible decision and the share of queries that get it. */
export interface Outcome {
  readonly decision: Decision;
  readonly share: number;
}

export interface Outcomes {
  readonly outcomes: Outcome[];
  /** True when every path was walked (shares are exact); false when they were sampled. */
  readonly exact: boolean;
  /** Paths walked, or samples drawn. */
  readonly paths: number;
}

/** Paths walked before {@link outcomes} falls back to sampling. */
export const MAX_OUTCOME_PATHS = 5000;
/** Draws taken when the tree of choices is too big to walk. */
export const OUTCOME_SAMPLES = 10_000;

/** A small seeded PRNG (mulberry32), so that a sampled preview is the same every time (and tests can script the dice). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Every decision `decide` can make for this client and health, with its probability: a
 * depth-first walk over the random choices the policies make through `ctx.pick`. Each run
 * replays a prefix of choices, then takes the first choice with weight at each new draw; the
 * next run moves the deepest draw that has another choice left. A path's probability is the
 * product of `weight / total` over its draws. Unordered (`ordered: false`): multivalue answers
 * are sets. Sticky policies draw nothing, so they have one outcome.
 *
 * When the walk passes `maxPaths` (a multivalue of 16 endpoints with max 8 has 12,870 sets),
 * it starts over and samples instead: `samples` decisions with a seeded PRNG; the shares are then
 * estimates (`exact: false`) with a standard error of at most 0.5/√samples (0.005 at 10,000).
 */
export function outcomes(
  record: PolicyRecord,
  client: Client,
  health: HealthView,
  opts: { latency?: LatencyTable | null; geo?: GeoDatabase | null; maxPaths?: number; samples?: number } = {},
): Outcomes {
  const maxPaths = opts.maxPaths ?? MAX_OUTCOME_PATHS;
  const out: Outcome[] = [];
  let prefix: number[] = [];
  let paths = 0;
  for (;;) {
    const draws: { weights: number[]; choice: number }[] = [];
    let p = 1;
    const pick = (count: number, weightOf: (i: number) => number): number => {
      const weights: number[] = [];
      let total = 0;
      for (let i = 0; i < count; i++) {
        const w = Math.max(0, weightOf(i));
        weights.push(w);
        total += w;
      }
      if (total <= 0) return -1;
      const depth = draws.length;
      const choice = depth < prefix.length ? prefix[depth]! : weights.findIndex((w) => w > 0);
      draws.push({ weights, choice });
      p *= weights[choice]! / total;
      return choice;
    };
    const decision = decide(record, client, health, { latency: opts.latency ?? null, geo: opts.geo ?? null, chooser: { pick, ordered: false } });
    out.push({ decision, share: p });
    if (++paths > maxPaths) break;
    let k = draws.length - 1;
    for (; k >= 0; k--) {
      const d = draws[k]!;
      let next = d.choice + 1;
      while (next < d.weights.length && d.weights[next]! <= 0) next++;
      if (next < d.weights.length) {
        prefix = [...draws.slice(0, k).map((x) => x.choice), next];
        break;
      }
    }
    if (k < 0) return { outcomes: out, exact: true, paths };
  }
  // Too many paths: sample.
  const samples = opts.samples ?? OUTCOME_SAMPLES;
  const rng = seededRandom(0x6d657264);
  const chooser: Chooser = { pick: (count, weightOf) => pickWeighted(count, weightOf, rng), ordered: false };
  const sampled: Outcome[] = [];
  for (let i = 0; i < samples; i++)
    sampled.push({ decision: decide(record, client, health, { latency: opts.latency ?? null, geo: opts.geo ?? null, chooser }), share: 1 / samples });
  return { outcomes: sampled, exact: false, paths: samples };
}
