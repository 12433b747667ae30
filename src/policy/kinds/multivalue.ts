/**
 * @module policy/kinds/multivalue
 * `multivalue`: up to `max` (default 8) usable endpoints of a pool, in random order, so that
 * clients spread over them and retry the next when one fails (Route 53's multivalue answer;
 * docs/policies/multivalue.md).
 *
 * | usable endpoints | answer                               | ECS scope |
 * | ---------------- | ------------------------------------ | --------- |
 * | n ≥ 1            | min(n, max) of them, shuffled        | 0         |
 *
 * (A drill preview, which compares sets, walks the choice of which min(n, max) instead of
 * every order: see `evaluate`.)
 * | none             | nothing: the parent decides          | 0         |
 */
import { Type } from '@sinclair/typebox';
import { countUsable, note, SAME_WEIGHT, usableEndpoints } from '../common.js';
import type { Endpoint, EvalContext, PolicyKind, PolicyNode } from '../types.js';

export const DEFAULT_MULTIVALUE_MAX = 8;

export const multivalue: PolicyKind<{ pool: string; max?: number }> = {
  name: 'multivalue',
  schema: (s) =>
    Type.Object(
      { pool: s.id('The pool.'), max: Type.Optional(Type.Integer({ minimum: 1, maximum: 64, description: 'Most endpoints in one answer. Default 8.' })) },
      { additionalProperties: false },
    ),
  compile(v, at, c) {
    const eps = c.poolEndpoints(v.pool, [...at, 'pool']);
    return eps && new MultivalueNode(v.pool, eps, v.max ?? DEFAULT_MULTIVALUE_MAX);
  },
};

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
    const n = Math.min(this.max, usable.length);
    if (ctx.ordered) {
      // Fisher–Yates, stopped after the first `max` places.
      for (let i = 0; i < n; i++) {
        const j = i + ctx.pick(usable.length - i, SAME_WEIGHT);
        const t = usable[i]!;
        usable[i] = usable[j]!;
        usable[j] = t;
      }
    } else if (n < usable.length) {
      // Order does not matter (a drill preview): which n of them, each n-subset as likely as the
      // shuffle makes it (uniform), in C(len, n) paths of choices rather than len!/(len−n)!.
      // Each endpoint in turn is taken with probability (still needed) / (still left).
      let need = n;
      let w = 0;
      for (let i = 0; i < usable.length && need > 0; i++) {
        const left = usable.length - i;
        if (left === need || ctx.pick(2, (k) => (k === 0 ? need : left - need)) === 0) {
          usable[w++] = usable[i]!;
          need--;
        }
      }
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
