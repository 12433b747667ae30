/**
 * @module policy/kinds/weighted
 * `weighted`: one endpoint of a pool (or one child policy), with probability proportional to
 * its weight among the usable ones. Weight 0 means drained: never picked while others are usable
 * (docs/policies/weighted.md). An endpoint's weight is the health view's: the one its target
 * reports while fresh (an http(s) check with `weight_from`), else the configured one.
 *
 * `sticky: true` replaces the dice with weighted rendezvous hashing on the client's network
 * (/24 for IPv4, /56 for IPv6 by default): a network keeps its endpoint while the usable set is
 * stable, and when an endpoint goes, only the networks that had it move. A sticky answer
 * depends on the client, so its ECS scope is the sticky prefix, also when the source prefix is
 * shorter (RFC 7871 §7.2.1); without stickiness the answer does not depend on the client and
 * the scope is 0.
 *
 * | usable endpoints | sticky | answer                                   | ECS scope        |
 * | ---------------- | ------ | ---------------------------------------- | ---------------- |
 * | ≥ 1 with weight  | no     | one, P ∝ weight                          | 0                |
 * | ≥ 1 with weight  | yes    | one, rendezvous on the client's /24, /56 | 24 / 56          |
 * | none             | either | nothing: the parent decides              | as above         |
 */
import { Type } from '@sinclair/typebox';
import { countUsable, dependOn, hashPrefix, note, rendezvous, seedOf, usableEndpoints, sub } from '../common.js';
import type { Endpoint, EvalContext, PolicyKind, PolicyNode } from '../types.js';

export interface Sticky {
  readonly v4: number;
  readonly v6: number;
}

export const DEFAULT_STICKY: Sticky = { v4: 24, v6: 56 };

interface WeightedOptions {
  pool?: string;
  children?: { weight: number; policy: unknown }[];
  sticky?: boolean;
  sticky_prefix_v4?: number;
  sticky_prefix_v6?: number;
}

function stickyOf(v: WeightedOptions): Sticky | null {
  if (v.sticky !== true) return null;
  return { v4: v.sticky_prefix_v4 ?? DEFAULT_STICKY.v4, v6: v.sticky_prefix_v6 ?? DEFAULT_STICKY.v6 };
}

export const weighted: PolicyKind<WeightedOptions> = {
  name: 'weighted',
  schema: (s) =>
    Type.Object(
      {
        pool: Type.Optional(s.id('Pick one endpoint of this pool by weight.')),
        children: Type.Optional(
          Type.Array(
            Type.Object(
              { weight: Type.Number({ minimum: 0, description: 'Relative weight; 0 drains.' }), policy: s.node('The child policy.') },
              { additionalProperties: false },
            ),
            { minItems: 1, description: 'Pick one child policy by weight.' },
          ),
        ),
        sticky: Type.Optional(Type.Boolean({ description: 'Keep each client network on its endpoint (rendezvous hashing).' })),
        sticky_prefix_v4: Type.Optional(
          Type.Integer({ minimum: 0, maximum: 32, description: 'IPv4 prefix that identifies a client network for stickiness. Default 24.' }),
        ),
        sticky_prefix_v6: Type.Optional(Type.Integer({ minimum: 0, maximum: 128, description: 'IPv6 prefix for stickiness. Default 56.' })),
      },
      { additionalProperties: false, oneOf: [{ required: ['pool'] }, { required: ['children'] }], 'x-error': 'must have exactly one of "pool" or "children"' },
    ),
  compile(v, at, c) {
    if (typeof v.pool === 'string') {
      const eps = c.poolEndpoints(v.pool, [...at, 'pool']);
      return eps && new WeightedPoolNode(v.pool, eps, stickyOf(v));
    }
    const children = v.children!.map((child, i) => {
      const node = c.node(child.policy, [...at, 'children', i, 'policy']);
      // The seed of a child is fixed by where it is written, so a sticky split survives reloads.
      return node && { weight: child.weight, node, seed: seedOf(`${c.pathText(at)}#${i}`) };
    });
    return children.every((x) => x) ? new WeightedChildrenNode(children as WeightedChild[], stickyOf(v)) : null;
  },
};

/**
 * The client network's hash: the first /24 (/56) of the address, read as the query gives it
 * (bits past the source prefix are zero, policy/client.ts). The answer depends on exactly those
 * bits, so they are the scope, even when the source prefix is shorter (RFC 7871 §7.2.1: a /16
 * source gets scope 24, "not specific enough", instead of a /16 scope that would be untrue for
 * the /24s inside it that hash elsewhere).
 */
function stickyHash(ctx: EvalContext, sticky: Sticky): number {
  const c = ctx.client;
  const bits = c.family === 4 ? sticky.v4 : sticky.v6;
  dependOn(ctx, bits);
  return hashPrefix(c.bytes, bits, c.family);
}

/** Weighted over the endpoints of one pool. */
export class WeightedPoolNode implements PolicyNode {
  readonly kind = 'weighted';
  readonly clientDependent: boolean;

  constructor(
    readonly poolId: string,
    readonly endpoints: readonly Endpoint[],
    readonly sticky: Sticky | null,
  ) {
    this.clientDependent = sticky !== null;
  }

  evaluate(ctx: EvalContext, path: string): Endpoint[] | null {
    const usable = usableEndpoints(this.endpoints, ctx, path);
    if (usable.length === 0) {
      if (ctx.trace) note(ctx, path, `weighted ${this.poolId}: nothing usable`);
      return null;
    }
    let i: number;
    if (this.sticky) {
      const h = stickyHash(ctx, this.sticky);
      i = rendezvous(
        h,
        usable.length,
        (k) => usable[k]!.seed,
        (k) => ctx.health.weight(usable[k]!),
      );
    } else {
      i = ctx.pick(usable.length, (k) => ctx.health.weight(usable[k]!));
    }
    const chosen = usable[i]!;
    if (ctx.trace) {
      const total = usable.reduce((n, e) => n + ctx.health.weight(e), 0);
      const w = ctx.health.weight(chosen);
      note(
        ctx,
        path,
        `weighted ${this.poolId}: picked ${chosen.key} (weight ${w}${w !== chosen.weight ? ' reported by its target' : ''} of ${total}${this.sticky ? ', sticky' : ''})`,
      );
    }
    return [chosen];
  }

  children(): readonly PolicyNode[] {
    return [];
  }

  usableCount(ctx: EvalContext): number {
    return countUsable(this.endpoints, ctx);
  }
}

export interface WeightedChild {
  readonly weight: number;
  readonly node: PolicyNode;
  /** Seed for rendezvous hashing. */
  readonly seed: number;
}

/** Weighted over child policies (a 90/10 split between two pools, say). */
export class WeightedChildrenNode implements PolicyNode {
  readonly kind = 'weighted';
  readonly clientDependent: boolean;
  readonly endpoints: readonly Endpoint[];

  constructor(
    readonly weightedChildren: readonly WeightedChild[],
    readonly sticky: Sticky | null,
  ) {
    this.clientDependent = sticky !== null || weightedChildren.some((c) => c.node.clientDependent);
    this.endpoints = [...new Set(weightedChildren.flatMap((c) => c.node.endpoints))];
  }

  evaluate(ctx: EvalContext, path: string): Endpoint[] | null {
    const left = this.weightedChildren.filter((c) => c.weight > 0);
    const h = this.sticky ? stickyHash(ctx, this.sticky) : 0;
    // Pick; if the pick has nothing usable, pick again among the rest.
    while (left.length > 0) {
      const i = this.sticky
        ? rendezvous(
            h,
            left.length,
            (k) => left[k]!.seed,
            (k) => left[k]!.weight,
          )
        : ctx.pick(left.length, (k) => left[k]!.weight);
      const child = left[i]!;
      const at = sub(ctx, path, `weighted child ${this.weightedChildren.indexOf(child)}`);
      const r = child.node.evaluate(ctx, at);
      if (r) return r;
      left.splice(i, 1);
    }
    if (ctx.trace) note(ctx, path, 'weighted: no child has anything usable');
    return null;
  }

  children(): readonly PolicyNode[] {
    return this.weightedChildren.map((c) => c.node);
  }

  usableCount(ctx: EvalContext): number {
    return this.weightedChildren.reduce((n, c) => n + (c.weight > 0 ? c.node.usableCount(ctx) : 0), 0);
  }
}
