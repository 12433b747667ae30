/**
 * @module health/endpoints
 * The endpoints a snapshot holds, as health checking and the views of health see them: every
 * endpoint of every zone's pools ({@link endpointsOf}), once per key ({@link uniqueEndpointsOf}:
 * two zones may share a pool name, so a key can appear twice), and the ones with a check
 * ({@link checkedEndpoints}, what the checker probes and the vote store judges).
 */
import type { Snapshot } from '../state/snapshot.js';
import type { Endpoint } from '../policy/types.js';
import type { CheckPlan } from '../checks/config.js';

/** An endpoint that runs a health check. */
export type CheckedEndpoint = Endpoint & { readonly check: CheckPlan };

/** Every endpoint of every zone in a snapshot. */
export function endpointsOf(snapshot: Snapshot): Endpoint[] {
  const out: Endpoint[] = [];
  for (const zone of snapshot.catalog.zones) {
    for (const pool of zone.policies?.pools.values() ?? []) out.push(...pool.endpoints);
  }
  return out;
}

/** The first of each key among `endpoints`, in order. */
function firstPerKey<T extends Endpoint>(endpoints: Iterable<T>): T[] {
  const seen = new Set<string>();
  const out: T[] = [];
  for (const e of endpoints) {
    if (seen.has(e.key)) continue;
    seen.add(e.key);
    out.push(e);
  }
  return out;
}

/** Every distinct endpoint of a snapshot: the first with each key. */
export function uniqueEndpointsOf(snapshot: Snapshot): Endpoint[] {
  return firstPerKey(endpointsOf(snapshot));
}

/** The endpoints that run a check, the first with a check for each key. */
export function checkedEndpoints(endpoints: Iterable<Endpoint>): CheckedEndpoint[] {
  const checked: CheckedEndpoint[] = [];
  for (const e of endpoints) if (e.check) checked.push(e as CheckedEndpoint);
  return firstPerKey(checked);
}
