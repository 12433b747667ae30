/**
 * @module drill/preview
 * What taking a target out would do, without doing it: for every policy record of every zone
 * and every client vantage point, the answers a client can receive now and with the target
 * down, each with its share of queries, where the moved traffic goes, the capacity left per
 * region, and the safety rules a live drill must pass.
 *
 * Candidates come from policy/evaluate.ts `outcomes`: the same `decide` the DNS path runs, once
 * per possible sequence of random choices (weighted picks, multivalue shuffles, latency ties),
 * each weighted by its probability. A candidate is what the client receives
 * (dns/answer.ts `answeredEndpoints`): the set of addresses (order-insensitive: an RRset has no
 * order, RFC 2181 §5), or the one CNAME target. Sticky weighted answers are fixed per client
 * network: one candidate with share 1. A record × vantage point counts as changed only when a
 * candidate appears, disappears or its share moves by more than {@link SHARE_EPSILON}.
 *
 * Safety rules:
 *   - `answers`: no policy record may be left with nothing usable for any vantage point (its
 *     answer would come from `on_all_down`, i.e. fail open or go empty);
 *   - `min_healthy_regions`: at least this many regions (default 1) keep a usable endpoint.
 */
import { answeredEndpoints } from '../dns/answer.js';
import { keyToPresentation } from '../proto/name.js';
import { typeToName } from '../proto/types.js';
import { uniqueEndpointsOf } from '../health/endpoints.js';
import { clientFromText, type Client } from '../policy/client.js';
import { decide, outcomes } from '../policy/evaluate.js';
import { continentOf } from '../policy/geoip.js';
import { withEndpointsDown, withRegionsDown, type HealthView } from '../policy/health-view.js';
import type { LatencyTable } from '../policy/latency-table.js';
import type { GeoDatabase } from '../policy/geoip.js';
import type { Endpoint, PolicyNode, PolicyRecord } from '../policy/types.js';
import { tablesFor, type Snapshot } from '../state/snapshot.js';
import { formatRdata } from '../proto/rdata.js';
import { DEFAULT_COUNTRIES, vantagePoints, type VantagePoint } from './vantage.js';

/** Shares closer than this are the same share (they are sums of products of weight ratios). */
export const SHARE_EPSILON = 1e-9;

export interface DrillTarget {
  readonly region?: string | undefined;
  readonly endpoints?: readonly string[] | undefined;
}

/** One answer a client can receive, and the share of its queries that get it. */
export interface Candidate {
  /** The answer's values in presentation form, sorted: addresses, or the one CNAME target. */
  answer: string[];
  share: number;
  /** Regions of the endpoints in the answer. */
  regions: string[];
  /** True when the answer comes from the record's `on_all_down` (nothing usable). */
  all_down: boolean;
}

export interface VantageImpact {
  country: string;
  subnet: string;
  before: Candidate[];
  after: Candidate[];
  /** False when the tree of choices was too big and the shares were sampled. */
  exact: boolean;
  changed: boolean;
  /** The share of this record's queries from here that get another answer during the drill. */
  moved_share: number;
  /** The answers that lose traffic, and how much of it. */
  moves_from: { answer: string[]; share: number }[];
  /** Where it goes: the answers that gain traffic, how much, and their regions. */
  moves_to: { answer: string[]; share: number; regions: string[] }[];
  to_regions: string[];
  all_down: boolean;
}

export interface RecordImpact {
  zone: string;
  name: string;
  type: string;
  vantage: VantageImpact[];
}

export interface SafetyCheck {
  rule: 'answers' | 'min_healthy_regions';
  pass: boolean;
  detail: string;
}

export interface Preview {
  target: DrillTarget;
  /** True when every safety rule passes (a live drill would start). */
  passed: boolean;
  vantage_points: VantagePoint[];
  records: RecordImpact[];
  capacity: { region: string; usable_before: number; usable_after: number; weight_before: number; weight_after: number }[];
  safety: SafetyCheck[];
  /** Record × vantage point pairs whose candidates or shares change. */
  changed_answers: number;
}

/** The presentation form of an answered value, as the drill runner compares it with observed answers. */
export function answerText(ep: Endpoint): string {
  return formatRdata(ep.rrtype, ep.rdata).toLowerCase();
}

/** The candidate answers of one record for one client, merged by answer (sets, not lists). */
export function candidates(
  rec: PolicyRecord,
  client: Client,
  health: HealthView,
  tables: { latency: LatencyTable | null; geo?: GeoDatabase | null },
): { list: Candidate[]; exact: boolean } {
  const r = outcomes(rec, client, health, tables);
  const byKey = new Map<string, Candidate>();
  for (const o of r.outcomes) {
    const eps = answeredEndpoints(o.decision);
    const answer = [...new Set(eps.map(answerText))].sort();
    const key = answer.join(' ');
    const cur = byKey.get(key);
    if (cur) {
      cur.share += o.share;
      cur.all_down ||= o.decision.allDown;
    } else {
      byKey.set(key, { answer, share: o.share, regions: [...new Set(eps.map((e) => e.region))].sort(), all_down: o.decision.allDown });
    }
  }
  const list = [...byKey.values()].sort((a, b) => b.share - a.share || a.answer.join(' ').localeCompare(b.answer.join(' ')));
  return { list, exact: r.exact };
}

/** How two candidate lists differ: the share that moves, from which answers, to which. */
export function compareCandidates(
  before: readonly Candidate[],
  after: readonly Candidate[],
): Pick<VantageImpact, 'changed' | 'moved_share' | 'moves_from' | 'moves_to' | 'to_regions'> {
  const key = (c: { answer: string[] }): string => c.answer.join(' ');
  const b = new Map(before.map((c) => [key(c), c]));
  const a = new Map(after.map((c) => [key(c), c]));
  const movesFrom: VantageImpact['moves_from'] = [];
  const movesTo: VantageImpact['moves_to'] = [];
  for (const [k, c] of b) {
    const lost = c.share - (a.get(k)?.share ?? 0);
    if (lost > SHARE_EPSILON) movesFrom.push({ answer: c.answer, share: lost });
  }
  for (const [k, c] of a) {
    const gained = c.share - (b.get(k)?.share ?? 0);
    if (gained > SHARE_EPSILON) movesTo.push({ answer: c.answer, share: gained, regions: c.regions });
  }
  const moved = movesFrom.reduce((n, m) => n + m.share, 0);
  const changed = movesFrom.length > 0 || movesTo.length > 0;
  return {
    changed,
    moved_share: changed ? moved : 0,
    moves_from: movesFrom,
    moves_to: movesTo,
    to_regions: [...new Set(movesTo.flatMap((m) => m.regions))].sort(),
  };
}

/** The health view with the target taken out. */
export function withoutTarget(view: HealthView, target: DrillTarget): HealthView {
  let v = view;
  if (target.region) v = withRegionsDown(v, new Set([target.region]));
  if (target.endpoints?.length) v = withEndpointsDown(v, new Set(target.endpoints));
  return v;
}

/** Does the target match this endpoint? */
export function hits(target: DrillTarget, ep: Endpoint): boolean {
  return ep.region === target.region || (target.endpoints?.includes(ep.key) ?? false);
}

/** Countries the zones' geo rules, latency rows and regions mention, plus the default set. */
function countriesOf(snapshot: Snapshot): string[] {
  const out = new Set<string>(DEFAULT_COUNTRIES);
  const walk = (n: PolicyNode): void => {
    for (const c of n.routedCountries ?? []) out.add(c);
    for (const child of n.children()) walk(child);
  };
  for (const zone of snapshot.catalog.zones) {
    for (const r of zone.policies?.records ?? []) walk(r.tree);
    for (const row of zone.policies?.latency?.rows ?? []) if (/^[A-Za-z]{2}$/.test(row.from)) out.add(row.from.toUpperCase());
    for (const region of zone.policies?.regions.values() ?? []) out.add(region.country);
  }
  return [...out].filter((c) => continentOf(c) !== undefined);
}

/**
 * @param opts.safetyOnly only the safety rules and capacity (no candidates, `records` empty): the
 *   guard of a running drill checks them every 500 ms. Whether a record is left with nothing
 *   usable does not depend on the random choices (weighted and latency policies try every
 *   usable child before giving up), so one `decide` per vantage point tells.
 */
export function preview(
  snapshot: Snapshot,
  target: DrillTarget,
  opts: { minHealthyRegions?: number; health?: HealthView; safetyOnly?: boolean } = {},
): Preview {
  const now = opts.health ?? snapshot.health;
  const after = withoutTarget(now, target);
  const points = vantagePoints(countriesOf(snapshot), snapshot.live.geo);
  const records: RecordImpact[] = [];
  let changed = 0;
  /** record → vantage points left with nothing usable. */
  const starved = new Map<string, string[]>();
  for (const zone of snapshot.catalog.zones) {
    const tables = tablesFor(snapshot, zone);
    for (const rec of zone.policies?.records ?? []) {
      const impact: RecordImpact = { zone: keyToPresentation(zone.origin), name: keyToPresentation(rec.owner), type: typeToName(rec.rrtype), vantage: [] };
      for (const vp of points) {
        const client = clientFromText(vp.subnet)!;
        if (opts.safetyOnly) {
          if (decide(rec, client, after, tables).allDown && !decide(rec, client, now, tables).allDown) {
            const key = `${impact.name} ${impact.type}`;
            starved.set(key, [...(starved.get(key) ?? []), vp.country]);
          }
          continue;
        }
        const b = candidates(rec, client, now, tables);
        const a = candidates(rec, client, after, tables);
        const diff = compareCandidates(b.list, a.list);
        if (diff.changed) changed++;
        const allDownAfter = a.list.some((c) => c.all_down);
        if (allDownAfter && !b.list.some((c) => c.all_down)) {
          const key = `${impact.name} ${impact.type}`;
          starved.set(key, [...(starved.get(key) ?? []), vp.country]);
        }
        impact.vantage.push({
          country: vp.country,
          subnet: vp.subnet,
          before: b.list,
          after: a.list,
          exact: b.exact && a.exact,
          ...diff,
          all_down: allDownAfter,
        });
      }
      if (!opts.safetyOnly) records.push(impact);
    }
  }
  const eps = uniqueEndpointsOf(snapshot);
  const regions = [...new Set(eps.map((e) => e.region))].sort();
  const capacity = regions.map((region) => {
    const mine = eps.filter((e) => e.region === region);
    const use = (v: HealthView) => mine.filter((e) => v.weight(e) > 0 && v.usable(e));
    return {
      region,
      usable_before: use(now).length,
      usable_after: use(after).length,
      weight_before: use(now).reduce((n, e) => n + now.weight(e), 0),
      weight_after: use(after).reduce((n, e) => n + after.weight(e), 0),
    };
  });
  const min = opts.minHealthyRegions ?? 1;
  const healthyAfter = capacity.filter((c) => c.usable_after > 0).length;
  const safety: SafetyCheck[] = [
    {
      rule: 'answers',
      pass: starved.size === 0,
      detail:
        starved.size === 0
          ? 'every policy record keeps a usable endpoint for every vantage point'
          : `left with nothing usable: ${[...starved].map(([rec, cc]) => `${rec} (${cc.length === points.length ? 'every vantage point' : cc.join(', ')})`).join('; ')}`,
    },
    { rule: 'min_healthy_regions', pass: healthyAfter >= min, detail: `${healthyAfter} region(s) keep a usable endpoint; the minimum is ${min}` },
  ];
  return { target, passed: safety.every((c) => c.pass), vantage_points: points, records, capacity, safety, changed_answers: changed };
}
