/**
 * @module policy/kinds/pool
 * The leaf `{ pool: ID }`: every usable endpoint of the pool, in the order written
 * (docs/policies/pool.md).
 *
 * | endpoints                      | answer                        |
 * | ------------------------------ | ----------------------------- |
 * | some usable (up or unknown)    | all usable ones, weight > 0   |
 * | none usable                    | nothing: the parent decides   |
 */
import { countUsable, note, usableEndpoints } from '../common.js';
import type { Endpoint, EvalContext, PolicyKind, PolicyNode } from '../types.js';

export const pool: PolicyKind<string> = {
  name: 'pool',
  schema: (s) => s.id('The pool whose usable endpoints all answer.'),
  compile(id, at, c) {
    const eps = c.poolEndpoints(id, at);
    return eps && new PoolNode(id, eps);
  },
};

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
