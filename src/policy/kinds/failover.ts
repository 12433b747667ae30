/**
 * @module policy/kinds/failover
 * `failover`: ordered tiers; the first tier with at least `min_healthy` (default 1) usable
 * endpoints answers, through its own policy (docs/policies/failover.md).
 *
 * | tier 1 usable ≥ min | tier 2 usable ≥ min | answer                       |
 * | ------------------- | ------------------- | ---------------------------- |
 * | yes                 | any                 | tier 1                       |
 * | no                  | yes                 | tier 2                       |
 * | no                  | no                  | nothing: the parent decides  |
 */
import { Type } from '@sinclair/typebox';
import { note, sub } from '../common.js';
import type { Endpoint, EvalContext, PolicyKind, PolicyNode } from '../types.js';

export const failover: PolicyKind<{ tiers: unknown[]; min_healthy?: number }> = {
  name: 'failover',
  schema: (s) =>
    Type.Object(
      {
        tiers: Type.Array(s.node('A tier.'), { minItems: 1, description: 'Tiers in order of preference.' }),
        min_healthy: Type.Optional(Type.Integer({ minimum: 1, description: 'Usable endpoints a tier needs to answer. Default 1.' })),
      },
      { additionalProperties: false },
    ),
  compile(v, at, c) {
    const tiers = v.tiers.map((t, i) => c.node(t, [...at, 'tiers', i]));
    return tiers.every((t) => t) ? new FailoverNode(tiers as PolicyNode[], v.min_healthy ?? 1) : null;
  },
};

export class FailoverNode implements PolicyNode {
  readonly kind = 'failover';
  readonly clientDependent: boolean;
  readonly endpoints: readonly Endpoint[];

  constructor(
    readonly tiers: readonly PolicyNode[],
    readonly minHealthy: number,
  ) {
    this.clientDependent = tiers.some((t) => t.clientDependent);
    this.endpoints = [...new Set(tiers.flatMap((t) => t.endpoints))];
  }

  evaluate(ctx: EvalContext, path: string): Endpoint[] | null {
    for (let i = 0; i < this.tiers.length; i++) {
      const tier = this.tiers[i]!;
      const at = sub(ctx, path, `tier ${i + 1}`);
      if (this.minHealthy > 1) {
        const n = tier.usableCount(ctx);
        if (n < this.minHealthy) {
          if (ctx.trace) note(ctx, at, `skipped: ${n} usable, min_healthy is ${this.minHealthy}`);
          continue;
        }
      }
      const r = tier.evaluate(ctx, at);
      if (r) return r;
    }
    return null;
  }

  children(): readonly PolicyNode[] {
    return this.tiers;
  }

  usableCount(ctx: EvalContext): number {
    let n = 0;
    for (const t of this.tiers) n += t.usableCount(ctx);
    return n;
  }
}
