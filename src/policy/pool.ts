/**
 * @module policy/pool
 * The leaf `{ pool: ID }`: every usable endpoint of the pool, in the order written.
 *
 * | endpoints                      | answer                        |
 * | ------------------------------ | ----------------------------- |
 * | some usable (up or unknown)    | all usable ones, weight > 0   |
 * | none usable                    | nothing: the parent decides   |
 */
import { countUsable, note, usableEndpoints } from './common.js';
import type { Endpoint, EvalContext, PolicyNode } from './types.js';

export class PoolNode implements PolicyNode {
  readonly kind = 'pool';
  readonly clientDependent = false;

  constructor(
    readonly poolId: string,
    readonly endpoints: readonly Endpoint[],
  ) {}

  evaluate(ctx: EvalContext, path: string): Endpoint[] | null {
    const usable = usableEndpoints(this.endpoints, ctx, path);
    if (usable.length === 0) {
      if (ctx.trace) note(ctx, path, `pool ${this.poolId}: nothing usable`);
      return null;
    }
    if (ctx.trace) note(ctx, path, `pool ${this.poolId}: ${usable.map((e) => e.key).join(', ')}`);
    return usable;
  }

  children(): readonly PolicyNode[] {
    return [];
  }

  usableCount(ctx: EvalContext): number {
    return countUsable(this.endpoints, ctx);
  }
}
