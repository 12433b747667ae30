/**
 * @module policy/evaluate
 * Evaluates a policy record for one client: walks its tree, and when the tree finds nothing
 * usable applies the record's `on_all_down`. The DNS path (dns/pipeline.ts) and the simulator
 * both call {@link decide}; there is no second implementation.
 *
 * `on_all_down` (never SERVFAIL because of health, DESIGN.md "Policy semantics"):
 * | setting      | answer when the tree has nothing usable                                    |
 * | ------------ | -------------------------------------------------------------------------- |
 * | `serve_all`  | every endpoint of the tree not drained or forced down by an operator (if that leaves none, every endpoint): fail open, as Route 53 does |
 * | `serve_none` | NODATA with the SOA (RFC 2308 §2.2)                                         |
 * | `pool: ID`   | the usable endpoints of that pool, or all of them if none is usable        |
 */
import { note } from './common.js';
import type { Client } from './client.js';
import type { HealthView } from './health-view.js';
import type { LatencyTable } from './latency-table.js';
import type { Decision, Endpoint, EvalContext, PolicyRecord, TraceStep } from './types.js';

export interface DecideOptions {
  readonly latency?: LatencyTable | null;
  readonly random?: () => number;
  /** Collects the explanation (simulator). */
  readonly trace?: TraceStep[];
}

function failOpen(endpoints: readonly Endpoint[], health: HealthView): Endpoint[] {
  const open = endpoints.filter((e) => e.weight > 0 && !health.excludedByOperator(e));
  return open.length > 0 ? open : [...endpoints];
}

export function decide(record: PolicyRecord, client: Client, health: HealthView, opts: DecideOptions = {}): Decision {
  const ctx: EvalContext = {
    client,
    health,
    latency: opts.latency ?? null,
    qtype: record.rrtype,
    random: opts.random ?? Math.random,
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
    const usable = all.pool.endpoints.filter((e) => e.weight > 0 && health.usable(e));
    endpoints = usable.length > 0 ? usable : failOpen(all.pool.endpoints, health);
    note(ctx, 'on_all_down', `nothing usable: fallback pool ${all.pool.id} with ${endpoints.length} endpoint(s)`);
  }
  return { endpoints, scope: ctx.scope, allDown: true };
}
