/**
 * @module policy/multivalue
 * `multivalue`: up to `max` (default 8) usable endpoints of a pool, in random order, so that
 * clients spread over them and retry the next when one fails (Route 53's multivalue answer).
 *
 * | usable endpoints | answer                               | ECS scope |
 * | ---------------- | ------------------------------------ | --------- |
 * | n ≥ 1            | min(n, max) of them, shuffled        | 0         |
 * | none             | nothing: the parent decides          | 0         |
 */
import { countUsable, note, SAME_WEIGHT, usableEndpoints } from './common.js';
import type { Endpoint, EvalContext, PolicyNode } from './types.js';

export const DEFAULT_MULTIVALUE_MAX = 8;

export class MultivalueNode implements PolicyNode {
  readonly kind = 'multivalue';
  readonly clientDependent = false;

  constructor(
    readonly poolId: string,
    readonly endpoints: readonly Endpoint[],
    readonly max: number,
  ) {}

  evaluate(ctx: EvalContext, path: string): Endpoint[] | null {
    const usable = usableEndpoints(this.endpoints, ctx, path);
    if (usable.length === 0) {
      if (ctx.trace) note(ctx, path, `multivalue ${this.poolId}: nothing usable`);
      return null;
    }
    // Fisher–Yates, stopped after the first `max` places. When every usable endpoint is
    // answered and the order does not matter (a drill preview), there is nothing to choose.
    const n = Math.min(this.max, usable.length);
    const shuffle = ctx.ordered || n < usable.length;
    for (let i = 0; shuffle && i < n; i++) {
      const j = i + ctx.pick(usable.length - i, SAME_WEIGHT);
      const t = usable[i]!;
      usable[i] = usable[j]!;
      usable[j] = t;
    }
    usable.length = n;
    if (ctx.trace) note(ctx, path, `multivalue ${this.poolId}: ${usable.map((e) => e.key).join(', ')}`);
    return usable;
  }

  children(): readonly PolicyNode[] {
    return [];
  }

  usableCount(ctx: EvalContext): number {
    return countUsable(this.endpoints, ctx);
  }
}
