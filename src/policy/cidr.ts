/**
 * @module policy/cidr
 * `cidr`: route by the client's network — the longest configured prefix holding the client's
 * address (ECS, else the source), IPv4 and IPv6 — with a `default` for everyone else.
 *
 * | client address                  | answer                                        |
 * | ------------------------------- | --------------------------------------------- |
 * | inside one or more routes       | the longest; if nothing usable, the default   |
 * | inside none                     | the default; none: the record's on_all_down   |
 *
 * ECS scope: the shortest prefix for which the match is the same for every address
 * (policy/prefix-table.ts), so a /8 route with a /24 carved out of it answers /24 near the hole.
 */
import { dependOn, note, sub } from './common.js';
import type { PrefixTable } from './prefix-table.js';
import type { Endpoint, EvalContext, PolicyNode } from './types.js';

export class CidrNode implements PolicyNode {
  readonly kind = 'cidr';
  readonly clientDependent = true;
  readonly endpoints: readonly Endpoint[];

  constructor(
    readonly table: PrefixTable<PolicyNode>,
    readonly fallback: PolicyNode | null,
    readonly routes: readonly PolicyNode[],
  ) {
    this.endpoints = [...new Set(routes.flatMap((c) => c.endpoints))];
  }

  children(): readonly PolicyNode[] {
    return this.routes;
  }

  evaluate(ctx: EvalContext, path: string): Endpoint[] | null {
    const m = this.table.lookup(ctx.client);
    dependOn(ctx, m.scope);
    if (m.value) {
      if (ctx.trace) note(ctx, path, `client ${ctx.client.text}/${ctx.client.sourcePrefix} matches ${m.network} (scope /${m.scope})`);
      const r = m.value.evaluate(ctx, sub(ctx, path, `${m.network}`));
      if (r) return r;
    } else {
      if (ctx.trace) note(ctx, path, `client ${ctx.client.text}/${ctx.client.sourcePrefix} matches no route (scope /${m.scope})`);
    }
    return this.fallback ? this.fallback.evaluate(ctx, sub(ctx, path, `default`)) : null;
  }

  usableCount(ctx: EvalContext): number {
    let n = 0;
    for (const e of this.endpoints) if (e.weight > 0 && ctx.health.usable(e)) n++;
    return n;
  }
}
