/**
 * @module drill/preview
 * What taking a target out would do, without doing it: for every policy record of every zone
 * and every client vantage point, the answer now and the answer with the target down (by the
 * same `decide` the DNS path uses), where the moved traffic goes, the capacity left per region,
 * and the safety rules a live drill must pass.
 *
 * Safety rules:
 *   - `answers`: no policy record may be left with nothing usable for any vantage point (its
 *     answer would come from `on_all_down`, i.e. fail open or go empty);
 *   - `min_healthy_regions`: at least this many regions (default 1) keep a usable endpoint.
 */
import { keyToPresentation } from '../dns/name.js';
import { typeToName } from '../dns/types.js';
import { endpointsOf } from '../health/service.js';
import { clientFromText } from '../policy/client.js';
import { decide } from '../policy/evaluate.js';
import { continentOf } from '../policy/geoip.js';
import { withEndpointsDown, withRegionsDown, type HealthView } from '../policy/health-view.js';
import type { Endpoint, PolicyNode } from '../policy/types.js';
import type { Snapshot } from '../state/snapshot.js';
import { DEFAULT_COUNTRIES, vantagePoints, type VantagePoint } from './vantage.js';

export interface DrillTarget {
  readonly region?: string | undefined;
  readonly endpoints?: readonly string[] | undefined;
}

export interface RecordImpact {
  zone: string;
  name: string;
  type: string;
  vantage: { country: string; subnet: string; before: string[]; after: string[]; changed: boolean; to_regions: string[]; all_down: boolean }[];
}

export interface SafetyCheck {
  rule: 'answers' | 'min_healthy_regions';
  pass: boolean;
  detail: string;
}

export interface Preview {
  target: DrillTarget;
  vantage_points: VantagePoint[];
  records: RecordImpact[];
  capacity: { region: string; usable_before: number; usable_after: number; weight_before: number; weight_after: number }[];
  safety: SafetyCheck[];
  changed_answers: number;
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
 * @param opts.strict count every record left with nothing usable, even if it was so before the
 *   drill (the guard of a running drill uses this: its target is already out).
 */
export function preview(snapshot: Snapshot, target: DrillTarget, opts: { minHealthyRegions?: number; health?: HealthView; strict?: boolean } = {}): Preview {
  const now = opts.health ?? snapshot.health;
  const after = withoutTarget(now, target);
  const points = vantagePoints(countriesOf(snapshot));
  const records: RecordImpact[] = [];
  let changed = 0;
  /** record → vantage points left with nothing usable. */
  const starved = new Map<string, string[]>();
  for (const zone of snapshot.catalog.zones) {
    const latency = zone.policies?.latency ?? snapshot.live.latency;
    for (const rec of zone.policies?.records ?? []) {
      const impact: RecordImpact = { zone: keyToPresentation(zone.origin), name: keyToPresentation(rec.owner), type: typeToName(rec.rrtype), vantage: [] };
      for (const vp of points) {
        const client = clientFromText(vp.subnet)!;
        // A fixed dice roll: a weighted answer must not look "changed" by chance.
        const random = () => 0.5;
        const b = decide(rec, client, now, { latency, random });
        const a = decide(rec, client, after, { latency, random });
        const before = b.endpoints.map((e) => e.value);
        const afterValues = a.endpoints.map((e) => e.value);
        const moved = before.join(' ') !== afterValues.join(' ');
        if (moved) changed++;
        if (a.allDown && (opts.strict || !b.allDown)) {
          const key = `${impact.name} ${impact.type}`;
          starved.set(key, [...(starved.get(key) ?? []), vp.country]);
        }
        impact.vantage.push({ country: vp.country, subnet: vp.subnet, before, after: afterValues, changed: moved, to_regions: moved ? [...new Set(a.endpoints.map((e) => e.region))] : [], all_down: a.allDown });
      }
      records.push(impact);
    }
  }
  const seen = new Set<string>();
  const eps = endpointsOf(snapshot).filter((e) => !seen.has(e.key) && seen.add(e.key));
  const regions = [...new Set(eps.map((e) => e.region))].sort();
  const capacity = regions.map((region) => {
    const mine = eps.filter((e) => e.region === region);
    const use = (v: HealthView) => mine.filter((e) => e.weight > 0 && v.usable(e));
    return {
      region,
      usable_before: use(now).length,
      usable_after: use(after).length,
      weight_before: use(now).reduce((n, e) => n + e.weight, 0),
      weight_after: use(after).reduce((n, e) => n + e.weight, 0),
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
  return { target, vantage_points: points, records, capacity, safety, changed_answers: changed };
}
