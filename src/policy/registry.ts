/**
 * @module policy/registry
 * Every kind of policy node, one line each. A kind is one module in policy/kinds/ (its option
 * schema, its compile step, its node) and a page in docs/policies/; see docs/policies/README.md
 * "Adding a policy kind". The order here is the order of the kinds in messages and in the zone
 * schema (policy/schema.ts `NODE_SCHEMAS`).
 */
import type { PolicyKind } from './types.js';
import { cidr } from './kinds/cidr.js';
import { failover } from './kinds/failover.js';
import { geo } from './kinds/geo.js';
import { latency } from './kinds/latency.js';
import { multivalue } from './kinds/multivalue.js';
import { pool } from './kinds/pool.js';
import { use } from './kinds/use.js';
import { weighted } from './kinds/weighted.js';

export const POLICY_KINDS: readonly PolicyKind[] = [pool, use, weighted, multivalue, failover, geo, latency, cidr];

const BY_NAME = new Map(POLICY_KINDS.map((k) => [k.name, k]));

/** The kind named `name` in a zone, or undefined. */
export function policyKind(name: string): PolicyKind | undefined {
  return BY_NAME.get(name);
}
