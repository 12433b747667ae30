/**
 * @module policy/kinds/cidr
 * `cidr`: route by the client's network — the longest configured prefix holding the client's
 * address (ECS, else the source), IPv4 and IPv6 — with a `default` for everyone else
 * (docs/policies/cidr.md).
 *
 * | client address                  | answer                                        |
 * | ------------------------------- | --------------------------------------------- |
 * | inside one or more routes       | the longest; if nothing usable, the default   |
 * | inside none                     | the default; none: the record's on_all_down   |
 *
 * ECS scope: the shortest prefix for which the match is the same for every address
 * (policy/prefix-table.ts), so a /8 route with a /24 carved out of it answers /24 near the hole.
 */
import { Type } from '@sinclair/typebox';
import { dependOn, note, sub } from '../common.js';
import { PrefixTable } from '../prefix-table.js';
import type { Endpoint, EvalContext, PolicyKind, PolicyNode } from '../types.js';

export const cidr: PolicyKind<{ routes: { networks: string[]; policy: unknown }[]; default?: unknown }> = {
  name: 'cidr',
  schema: (s) =>
    Type.Object(
      {
        routes: Type.Array(
          Type.Object(
            {
              networks: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: 'IPv4/IPv6 networks in CIDR form.' }),
              policy: s.node('What clients in them get.'),
            },
            { additionalProperties: false },
          ),
          { minItems: 1 },
        ),
        default: Type.Optional(s.node('What clients in no route get.')),
      },
      { additionalProperties: false },
    ),
  compile(v, at, c) {
    let ok = true;
    const entries: { network: string; value: PolicyNode }[] = [];
    const children: PolicyNode[] = [];
    v.routes.forEach((r, i) => {
      const node = c.node(r.policy, [...at, 'routes', i, 'policy']);
      if (!node) ok = false;
      else children.push(node);
      r.networks.forEach((n, j) => {
        const p = [...at, 'routes', i, 'networks', j];
        try {
          // Built once per network so that the problem names the network at fault (a duplicate, a typo).
          new PrefixTable([...entries, { network: n, value: node! }]);
          entries.push({ network: n, value: node! });
        } catch (err) {
          ok = false;
          c.fail('MRD_ERR_POLICY_NETWORK', p, c.pathText(p), (err as Error).message);
        }
      });
    });
    let fallback: PolicyNode | null = null;
    if (v.default !== undefined) {
      fallback = c.node(v.default, [...at, 'default']);
      if (!fallback) ok = false;
      else children.push(fallback);
    }
    return ok ? new CidrNode(new PrefixTable(entries), fallback, children) : null;
  },
};

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
    for (const e of this.endpoints) if (ctx.health.weight(e) > 0 && ctx.health.usable(e)) n++;
    return n;
  }
}
