/**
 * @module health/status
 * What the status view says about an endpoint and a region: one word each, derived from the
 * health view, the operator's overrides and the endpoint's weight — and never more than those
 * know. `GET /v1/regions` (admin/health-routes.ts), `GET /v1/regions/{id}/status`
 * (admin/routes/lb.ts), `/metrics` (admin/metrics.ts), `meridian ctl regions` and the status page
 * all read these words from here, so they cannot disagree. docs/health.md ("Region states")
 * holds the same tables.
 *
 * An endpoint's status, first match wins (an override on the endpoint beats one on its region):
 *
 * | status        | when                                                   | answered |
 * | ------------- | ------------------------------------------------------ | -------- |
 * | `drained`     | a `drain` override                                     | no       |
 * | `forced_down` | a `force_down` override                                | no       |
 * | `weight_zero` | weight 0 (a drain written in the zone)                 | no       |
 * | `forced_up`   | a `force_up` override (its checks are not consulted)   | yes      |
 * | `up`          | its health view is up (a quorum of fresh votes)        | yes      |
 * | `down`        | its health view is down                                | no       |
 * | `unchecked`   | it has no health check, so no verdict can exist        | yes      |
 * | `unknown`     | it has a check, but no fresh vote yet (or all stale)   | yes      |
 *
 * "Answered" is exactly what the policies do (policy/common.ts: weight > 0 and usable), so
 * `usable` counts the capacity DNS really hands out.
 *
 * A region's status, over its endpoints, first match wins:
 *
 * | status      | when                                                                        |
 * | ----------- | --------------------------------------------------------------------------- |
 * | `empty`     | no endpoints                                                                |
 * | `drained`   | none usable, and none of them down by its checks: every one is drained,     |
 * |             | forced down or at weight 0 (an operator took the capacity out on purpose)   |
 * | `down`      | none usable, and at least one is down by its checks                         |
 * | `degraded`  | some usable, some not (down, drained, forced down or weight 0)              |
 * | `healthy`   | all usable, and at least one is `up` by its checks                          |
 * | `unchecked` | all usable, and none is `up` by its checks (no checks, no votes yet, or     |
 * |             | only forced up): answered, but nobody has looked                            |
 *
 * `healthy` therefore speaks for the checked endpoints: an unchecked endpoint next to checked-up
 * ones does not degrade the region, and the `unchecked` count says it is there.
 */
import type { Endpoint } from '../policy/types.js';
import type { HealthState, Override } from '../policy/health-view.js';

export const ENDPOINT_STATUSES = ['up', 'down', 'unknown', 'unchecked', 'forced_up', 'forced_down', 'drained', 'weight_zero'] as const;
export type EndpointStatus = (typeof ENDPOINT_STATUSES)[number];

export const REGION_STATUSES = ['healthy', 'degraded', 'down', 'drained', 'unchecked', 'empty'] as const;
export type RegionState = (typeof REGION_STATUSES)[number];

/** One endpoint as the status view sees it. */
export interface EndpointState {
  readonly status: EndpointStatus;
  /** Answered by DNS now: weight > 0 and usable under health and overrides. */
  readonly usable: boolean;
  /** Why it is not answered, in words; null when it is. */
  readonly reason: string | null;
  /** The override in force (the endpoint's own, else its region's), if any. */
  readonly override: Override | undefined;
}

/** The status of one endpoint (see the table in the module header). */
export function endpointState(health: HealthState, ep: Endpoint): EndpointState {
  const override = health.overrideFor(ep);
  const view = health.health(ep.key);
  // The weight in force: the target's reported one while fresh, else the configured one.
  const weight = health.weight(ep);
  const status: EndpointStatus =
    override?.kind === 'drain'
      ? 'drained'
      : override?.kind === 'force_down'
        ? 'forced_down'
        : weight <= 0
          ? 'weight_zero'
          : override?.kind === 'force_up'
            ? 'forced_up'
            : view === 'up'
              ? 'up'
              : view === 'down'
                ? 'down'
                : ep.check === null
                  ? 'unchecked'
                  : 'unknown';
  const usable = weight > 0 && health.usable(ep);
  // The override's reason names it ("drained (region eu-west override: …)"); weight 0 is the
  // same words the simulator's trace uses (policy/common.ts).
  const reason = usable
    ? null
    : status === 'weight_zero'
      ? weight === ep.weight
        ? 'weight 0 (drained)'
        : 'reported weight 0 (drained by its target)'
      : (health.reason(ep) ?? 'not usable');
  return { status, usable, reason, override };
}

/** Counts of a region's endpoints, the inputs of its status. */
export interface RegionCounts {
  total: number;
  /** Answered now (weight > 0, usable): the region's capacity. */
  usable: number;
  /** Health view (unknown includes the unchecked ones). */
  up: number;
  down: number;
  unknown: number;
  /** Under an override (drain, force_up or force_down), on the endpoint or its region. */
  overridden: number;
  /** Without a health check. */
  unchecked: number;
  /** Under a `drain` override. */
  drained: number;
  /** Under a `force_down` override. */
  forced_down: number;
  /** At weight 0. */
  weight_zero: number;
}

export interface RegionSummary {
  readonly status: RegionState;
  readonly counts: RegionCounts;
  /** Endpoint statuses, each with how many endpoints have it (only those present). */
  readonly byStatus: Partial<Record<EndpointStatus, number>>;
  /** Sum of the weights of all endpoints, and of the usable ones. */
  readonly weight: { total: number; usable: number };
}

/** The status of a region from its endpoints (see the table in the module header). */
export function regionState(health: HealthState, endpoints: readonly Endpoint[]): RegionSummary {
  const c: RegionCounts = {
    total: endpoints.length,
    usable: 0,
    up: 0,
    down: 0,
    unknown: 0,
    overridden: 0,
    unchecked: 0,
    drained: 0,
    forced_down: 0,
    weight_zero: 0,
  };
  const byStatus: Partial<Record<EndpointStatus, number>> = {};
  const weight = { total: 0, usable: 0 };
  let checkedUp = 0;
  let downByChecks = 0;
  for (const ep of endpoints) {
    const s = endpointState(health, ep);
    byStatus[s.status] = (byStatus[s.status] ?? 0) + 1;
    c[health.health(ep.key)]++;
    if (s.override) c.overridden++;
    if (ep.check === null) c.unchecked++;
    if (s.status === 'drained') c.drained++;
    if (s.status === 'forced_down') c.forced_down++;
    const w = health.weight(ep);
    if (w <= 0) c.weight_zero++;
    if (s.status === 'up') checkedUp++;
    if (s.status === 'down') downByChecks++;
    weight.total += Math.max(0, w);
    if (s.usable) {
      c.usable++;
      weight.usable += w;
    }
  }
  const status: RegionState =
    c.total === 0
      ? 'empty'
      : c.usable === 0
        ? downByChecks === 0
          ? 'drained'
          : 'down'
        : c.usable < c.total
          ? 'degraded'
          : checkedUp > 0
            ? 'healthy'
            : 'unchecked';
  return { status, counts: c, byStatus, weight };
}
