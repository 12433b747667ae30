/**
 * @module policy/kinds/geo
 * `geo`: route by where the client is (geoip-lite on the ECS address, else the source address;
 * docs/policies/geo.md).
 * The most specific match wins: subdivision (ISO 3166-2, `US-CA`), then country (ISO 3166-1
 * alpha-2), then continent, then `default`. If the matching branch has nothing usable, the next
 * less specific match answers (as Route 53 falls back to the continent, then the default record).
 *
 * | client located in | branch that answers (first with anything usable) |
 * | ----------------- | ------------------------------------------------ |
 * | a listed subdivision | that branch, then its country's, continent's, default |
 * | a listed country     | that branch, then its continent's, then default    |
 * | a listed continent   | that branch, then default                          |
 * | nowhere listed       | default; with no default, the record's on_all_down |
 *
 * ECS scope: the geoip block the client's location came from (policy/geoip.ts). When every
 * branch and the default are the same policy, the answer cannot depend on the client: scope 0.
 */
import { Type } from '@sinclair/typebox';
import { dependOn, note, sub } from '../common.js';
import { continentOf, isContinent, locate } from '../geoip.js';
import type { Endpoint, EvalContext, PolicyKind, PolicyNode } from '../types.js';

export interface GeoBranch {
  readonly label: string;
  readonly node: PolicyNode;
}

interface GeoMatch {
  subdivisions?: string[];
  countries?: string[];
  continents?: string[];
}

interface GeoOptions {
  branches: { match: GeoMatch; policy: unknown }[];
  default?: unknown;
}

export const geo: PolicyKind<GeoOptions> = {
  name: 'geo',
  schema: (s) =>
    Type.Object(
      {
        branches: Type.Array(
          Type.Object(
            {
              match: Type.Object(
                {
                  subdivisions: Type.Optional(Type.Array(Type.String(), { minItems: 1, description: 'ISO 3166-2 codes (`US-CA`).' })),
                  countries: Type.Optional(Type.Array(Type.String(), { minItems: 1, description: 'ISO 3166-1 alpha-2 codes.' })),
                  continents: Type.Optional(Type.Array(Type.String(), { minItems: 1, description: 'AF AN AS EU NA OC SA.' })),
                },
                { additionalProperties: false, minProperties: 1, 'x-error': 'must list subdivisions, countries or continents' },
              ),
              policy: s.node('What clients located there get.'),
            },
            { additionalProperties: false },
          ),
          { minItems: 1 },
        ),
        default: Type.Optional(s.node('What clients matching no branch get.')),
      },
      { additionalProperties: false },
    ),
  compile(v, at, c) {
    c.needsGeoip();
    const subdivisions = new Map<string, GeoBranch>();
    const countries = new Map<string, GeoBranch>();
    const continents = new Map<string, GeoBranch>();
    const branches: GeoBranch[] = [];
    let ok = true;
    v.branches.forEach((b, i) => {
      const node = c.node(b.policy, [...at, 'branches', i, 'policy']);
      const label = `branch ${[...(b.match.subdivisions ?? []), ...(b.match.countries ?? []), ...(b.match.continents ?? [])].join(',')}`;
      const branch = node ? { label, node } : null;
      if (branch) branches.push(branch);
      else ok = false;
      const add = (map: Map<string, GeoBranch>, list: string[] | undefined, field: string, check: (code: string) => boolean, what: string): void => {
        (list ?? []).forEach((code, j) => {
          const p = [...at, 'branches', i, 'match', field, j];
          const upper = code.toUpperCase();
          if (!check(upper)) {
            ok = false;
            return c.fail('MRD_ERR_POLICY_LOCATION', p, c.pathText(p), code, what);
          }
          if (map.has(upper)) {
            ok = false;
            return c.fail('MRD_ERR_POLICY_DUPLICATE', p, c.pathText(p), `${upper} is already matched by an earlier branch`);
          }
          if (branch) map.set(upper, branch);
        });
      };
      add(
        subdivisions,
        b.match.subdivisions,
        'subdivisions',
        (x) => /^[A-Z]{2}-[A-Z0-9]{1,3}$/.test(x) && continentOf(x.slice(0, 2)) !== undefined,
        'an ISO 3166-2 subdivision code such as US-CA',
      );
      add(countries, b.match.countries, 'countries', (x) => /^[A-Z]{2}$/.test(x) && continentOf(x) !== undefined, 'an ISO 3166-1 alpha-2 country code');
      add(continents, b.match.continents, 'continents', isContinent, 'a continent code (AF AN AS EU NA OC SA)');
    });
    let fallback: GeoBranch | null = null;
    if (v.default !== undefined) {
      const node = c.node(v.default, [...at, 'default']);
      if (node) {
        fallback = { label: 'default', node };
        branches.push(fallback);
      } else ok = false;
    }
    if (!ok) return null;
    // Every branch written as the default is: the answer cannot depend on where the client is.
    const d = JSON.stringify(v.default);
    const same = fallback !== null && v.branches.every((b) => JSON.stringify(b.policy) === d);
    return new GeoNode(subdivisions, countries, continents, fallback, same, branches);
  },
};

export class GeoNode implements PolicyNode {
  readonly kind = 'geo';
  readonly clientDependent: boolean;
  readonly endpoints: readonly Endpoint[];
  readonly routedCountries: readonly string[];
  readonly #branches: readonly GeoBranch[];

  /**
   * @param sameEverywhere true when every branch and the default are the same policy (then the
   *   client's location is not even looked up).
   */
  constructor(
    readonly subdivisions: ReadonlyMap<string, GeoBranch>,
    readonly countries: ReadonlyMap<string, GeoBranch>,
    readonly continents: ReadonlyMap<string, GeoBranch>,
    readonly fallback: GeoBranch | null,
    readonly sameEverywhere: boolean,
    branches: readonly GeoBranch[],
  ) {
    this.clientDependent = !sameEverywhere || branches.some((b) => b.node.clientDependent);
    this.endpoints = [...new Set(branches.flatMap((b) => b.node.endpoints))];
    this.#branches = branches;
    this.routedCountries = [...new Set([...countries.keys(), ...[...subdivisions.keys()].map((s) => s.slice(0, 2))])];
  }

  children(): readonly PolicyNode[] {
    return this.#branches.map((b) => b.node);
  }

  evaluate(ctx: EvalContext, path: string): Endpoint[] | null {
    if (this.sameEverywhere) {
      if (ctx.trace) note(ctx, path, 'geo: every branch is the same policy; location not needed');
      return this.fallback!.node.evaluate(ctx, sub(ctx, path, `${this.fallback!.label}`));
    }
    const loc = locate(ctx.client, ctx.geo);
    dependOn(ctx, loc.scope);
    if (ctx.trace)
      note(
        ctx,
        path,
        loc.country
          ? `client ${ctx.client.text}/${ctx.client.sourcePrefix} located in ${loc.subdivision || loc.country} (${loc.continent}), geoip block /${loc.scope}`
          : `client ${ctx.client.text}/${ctx.client.sourcePrefix} has no geolocation`,
      );
    // Most specific first; a branch listed at several levels is tried once.
    const b1 = loc.subdivision ? this.subdivisions.get(loc.subdivision) : undefined;
    const b2 = loc.country ? this.countries.get(loc.country) : undefined;
    const b3 = loc.continent ? this.continents.get(loc.continent) : undefined;
    const b4 = this.fallback ?? undefined;
    for (let i = 0; i < 4; i++) {
      const branch = i === 0 ? b1 : i === 1 ? b2 : i === 2 ? b3 : b4;
      if (!branch || (i > 0 && branch === b1) || (i > 1 && branch === b2) || (i > 2 && branch === b3)) continue;
      const r = branch.node.evaluate(ctx, sub(ctx, path, branch.label));
      if (r) return r;
    }
    if (!this.fallback && ctx.trace) note(ctx, path, 'geo: no branch matched and there is no default');
    return null;
  }

  usableCount(ctx: EvalContext): number {
    let n = 0;
    for (const b of new Set([
      ...this.subdivisions.values(),
      ...this.countries.values(),
      ...this.continents.values(),
      ...(this.fallback ? [this.fallback] : []),
    ])) {
      n += b.node.usableCount(ctx);
    }
    return n;
  }
}
