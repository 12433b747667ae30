/**
 * @module policy/kinds/latency
 * `latency`: send the client to the region with the lowest estimated round-trip time that has
 * anything usable (docs/policies/latency.md). Estimates come from the latency table (a CIDR row,
 * then a country row), else from great-circle distance (policy/latency-table.ts has the formula).
 * With `rtt_from: probes`, the health probes' smoothed RTTs come first (health/votes.ts: an EWMA
 * per checker region and endpoint): as seen from the checker region nearest the client (by
 * great-circle distance from its location; a client with no location takes the first checker
 * region by id), a region's RTT is the lowest smoothed RTT to an endpoint under it; a region that
 * checker has not measured falls back to the table, then to distance.
 * `tolerance_ms` spreads load: every usable region within that margin of the best is picked at
 * random.
 *
 * | estimates known | best region usable | answer                                            |
 * | --------------- | ------------------ | ------------------------------------------------- |
 * | yes             | yes                | best, or any usable within tolerance of it        |
 * | yes             | no                 | next best usable (and those within its tolerance) |
 * | no (no location, no row) | -         | regions in the order written                      |
 * | -               | none usable        | nothing: the parent decides                       |
 *
 * ECS scope: the matching table row's network scope, and the geoip block of the client unless
 * a CIDR row gave an RTT for every region (with probes the location always counts: it picks the
 * checker region).
 */
import { Type } from '@sinclair/typebox';
import { dependOn, note, SAME_WEIGHT, sub } from '../common.js';
import { locate, type Location } from '../geoip.js';
import { distanceKm, rttFromDistance, type LatencyTable } from '../latency-table.js';
import type { ProbeRtts } from '../health-view.js';
import type { Endpoint, EvalContext, PolicyKind, PolicyNode, Region } from '../types.js';

export const latency: PolicyKind<{ regions: { region: string; policy: unknown }[]; tolerance_ms?: number; rtt_from?: 'table' | 'probes' }> = {
  name: 'latency',
  schema: (s) =>
    Type.Object(
      {
        regions: Type.Array(
          Type.Object({ region: s.id('A region.'), policy: s.node('What clients sent to that region get.') }, { additionalProperties: false }),
          { minItems: 1 },
        ),
        tolerance_ms: Type.Optional(Type.Number({ minimum: 0, description: 'Regions within this many ms of the best share the load. Default 0.' })),
        rtt_from: Type.Optional(
          Type.Union([Type.Literal('table'), Type.Literal('probes')], {
            description:
              "Where RTTs come from: `table` (the latency table, then distance; the default) or `probes` (the health probes' smoothed RTTs from the checker region nearest the client, then the table, then distance).",
            'x-error': 'must be table or probes',
          }),
        ),
      },
      { additionalProperties: false },
    ),
  compile(v, at, c) {
    c.needsGeoip();
    const seen = new Set<string>();
    let ok = true;
    const targets = v.regions.map((t, i) => {
      const p = [...at, 'regions', i];
      const region = c.region(t.region);
      if (!region) {
        ok = false;
        if (!c.regionDefined(t.region)) c.fail('MRD_ERR_POLICY_REFERENCE', [...p, 'region'], c.pathText([...p, 'region']), 'region', t.region);
      } else if (seen.has(t.region)) {
        ok = false;
        c.fail('MRD_ERR_POLICY_DUPLICATE', [...p, 'region'], c.pathText([...p, 'region']), `region "${t.region}" is listed twice`);
      }
      seen.add(t.region);
      const node = c.node(t.policy, [...p, 'policy']);
      if (!node) ok = false;
      return { region: region!, node: node! };
    });
    return ok ? new LatencyNode(targets, v.tolerance_ms ?? 0, v.rtt_from === 'probes' ? c.regions() : null) : null;
  },
};

/** The memo's key for "no table row" and for "the location does not matter". */
const NO_ROW: object = {};

interface Estimates {
  readonly rtt: readonly number[];
  readonly via: string;
  readonly order: readonly number[];
  /** Per target, where its RTT came from when that differs by target (probes, else the table or distance). */
  readonly from?: readonly string[];
}

export interface LatencyTarget {
  readonly region: Region;
  readonly node: PolicyNode;
}

export class LatencyNode implements PolicyNode {
  readonly kind = 'latency';
  readonly clientDependent = true;
  readonly endpoints: readonly Endpoint[];

  /**
   * @param vantageRegions with `rtt_from: probes`, the zone's regions (where checker regions
   *   are, to find the one nearest the client); null for estimates from the table and distance.
   */
  constructor(
    readonly targets: readonly LatencyTarget[],
    readonly toleranceMs: number,
    readonly vantageRegions: ReadonlyMap<string, Region> | null = null,
  ) {
    this.endpoints = [...new Set(targets.flatMap((t) => t.node.endpoints))];
  }

  /** The lowest smoothed RTT from `checker` to an endpoint under target `i`, and that endpoint. */
  #measured(rtts: ProbeRtts, checker: string, i: number): { ms: number; endpoint: string } | undefined {
    let best: { ms: number; endpoint: string } | undefined;
    for (const ep of this.targets[i]!.node.endpoints) {
      const ms = rtts.rttMs(checker, ep.key);
      if (ms !== undefined && (!best || ms < best.ms)) best = { ms, endpoint: ep.key };
    }
    return best;
  }

  /**
   * Probe estimates (`rtt_from: probes`): the smoothed RTTs from the checker region nearest the
   * client that measured anything under this policy, over `base` (table or distance) where that
   * checker measured nothing. Not memoized: the RTTs change with every vote.
   */
  #fromProbes(ctx: EvalContext, loc: Location, base: Estimates): Estimates {
    const rtts = ctx.health.probeRtts();
    if (!rtts) return base;
    let vantage: string | undefined;
    let nearest = Infinity;
    for (const v of rtts.vantages()) {
      const r = this.vantageRegions!.get(v);
      if (!r || !this.targets.some((_, i) => this.#measured(rtts, v, i))) continue;
      // No location: the first by id (vantages() is sorted) stands in for "nearest".
      const km = Number.isNaN(loc.lat) ? 0 : distanceKm(loc.lat, loc.lon, r.lat, r.lon);
      if (km < nearest) {
        nearest = km;
        vantage = v;
      }
    }
    if (vantage === undefined) return base;
    // Where each RTT came from is only worded for the simulator's trace.
    const from: string[] | undefined = ctx.trace ? [] : undefined;
    const rtt = this.targets.map((_, i) => {
      const m = this.#measured(rtts, vantage, i);
      from?.push(m ? `probes ${m.endpoint}` : base.via);
      return m ? m.ms : base.rtt[i]!;
    });
    const order = this.targets.map((_, i) => i).sort((a, b) => rtt[a]! - rtt[b]! || a - b);
    const via = ctx.trace
      ? `probes from checker region ${vantage} (${Number.isNaN(loc.lat) ? 'client has no location' : `nearest the client, ${Math.round(nearest)} km`})`
      : 'probes';
    return from ? { rtt, via, order, from } : { rtt, via, order };
  }

  /**
   * Estimates depend only on the matching table row and, where the row lacks a target (or there
   * is no row), the client's location, so they are remembered per row and location object (both
   * are shared and long-lived) and the targets' order is computed once for each.
   */
  readonly #memo = new WeakMap<object, WeakMap<object, Estimates>>();

  /** RTT estimate per target, in target order (Infinity where nothing is known), and the order to try them in. */
  estimates(ctx: EvalContext): Estimates {
    const loc = locate(ctx.client, ctx.geo);
    const match = ctx.latency?.rowFor(ctx.client, loc.country);
    const row = match?.row;
    // What decided (RFC 7871 §7.2.1): which CIDR row holds the client (or that none does); the
    // location too, unless a CIDR row gives every target (a country row is chosen by the
    // location, and a target a row lacks is estimated from the location's distance).
    const complete = row !== undefined && this.targets.every((t) => row.has(t.region.id));
    // With probes the location picks the checker region, so it always counts.
    dependOn(ctx, match?.byNetwork && complete && !this.vantageRegions ? match.scope : Math.max(loc.scope, match?.scope ?? 0));
    const outer: object = row ?? NO_ROW;
    const inner: object = complete ? NO_ROW : loc;
    let byLoc = this.#memo.get(outer);
    if (!byLoc) {
      byLoc = new WeakMap();
      this.#memo.set(outer, byLoc);
    }
    let e = byLoc.get(inner);
    if (!e) {
      e = this.#estimate(loc, match);
      byLoc.set(inner, e);
    }
    return this.vantageRegions ? this.#fromProbes(ctx, loc, e) : e;
  }

  #estimate(loc: Location, match: ReturnType<LatencyTable['rowFor']> | undefined): Estimates {
    const row = match?.row;
    const known = !Number.isNaN(loc.lat);
    const rtt = this.targets.map((t) => {
      const measured = row?.get(t.region.id);
      if (measured !== undefined) return measured;
      return known ? rttFromDistance(distanceKm(loc.lat, loc.lon, t.region.lat, t.region.lon)) : Infinity;
    });
    const via = row ? match!.via : known ? `distance from ${loc.country || 'client'} (${loc.lat}, ${loc.lon})` : 'nothing (no location)';
    const order = this.targets.map((_, i) => i).sort((a, b) => rtt[a]! - rtt[b]! || a - b);
    return { rtt, via, order };
  }

  evaluate(ctx: EvalContext, path: string): Endpoint[] | null {
    const { rtt, via, order, from } = this.estimates(ctx);
    if (ctx.trace)
      note(
        ctx,
        path,
        `latency via ${via}: ${order
          .map((i) => `${this.targets[i]!.region.id} ${Number.isFinite(rtt[i]!) ? `${Math.round(rtt[i]! * 10) / 10} ms` : '?'}${from ? ` (${from[i]})` : ''}`)
          .join(', ')}`,
      );
    let best = Infinity;
    let picks: Endpoint[][] | null = null;
    for (const i of order) {
      if (picks && !(rtt[i]! <= best + this.toleranceMs)) break;
      const t = this.targets[i]!;
      const r = t.node.evaluate(ctx, sub(ctx, path, `${t.region.id}`));
      if (!r) continue;
      if (!picks) {
        picks = [r];
        best = rtt[i]!;
        // Without any estimate, the first usable region in written order answers.
        if (!Number.isFinite(best) || this.toleranceMs === 0) break;
      } else {
        picks.push(r);
      }
    }
    if (!picks) return null;
    if (picks.length === 1) return picks[0]!;
    const chosen = picks[ctx.pick(picks.length, SAME_WEIGHT)]!;
    if (ctx.trace) note(ctx, path, `${picks.length} regions within ${this.toleranceMs} ms of the best: picked ${chosen[0]?.region} at random`);
    return chosen;
  }

  children(): readonly PolicyNode[] {
    return this.targets.map((t) => t.node);
  }

  usableCount(ctx: EvalContext): number {
    let n = 0;
    for (const t of this.targets) n += t.node.usableCount(ctx);
    return n;
  }
}
