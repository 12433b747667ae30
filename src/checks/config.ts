/**
 * @module checks/config
 * Compiles the `checks:` of a YAML zone into check plans, and works out which plan each endpoint
 * runs (its own `check:`, else its pool's). What a schema cannot check is checked here, each
 * problem with the path of the value at fault: unknown check ids, loops between calculated
 * checks, a timeout not below the interval, an interval under 1 s, `at_least` larger than its
 * list, a field of another check type; and, by each check type's own compile step
 * (checks/*), what is wrong with its fields (a tcp check without a port, a bad regular
 * expression, a dns check without a name…).
 *
 * Rise and fall apply to the check an endpoint runs as a whole: a calculated check runs all of
 * its probes each interval, combines them (all / any / at least N, then `inverted`), and the
 * combined result goes through rise/fall (health/checker.ts).
 */
import type { CodedArgs } from '../errors.js';
import { checkDurationMs, type CheckEntry } from './schema.js';
import { formatPath, type PathSegment } from '../validation/validate.js';
import { CHECK_TYPES, checkTypeOf, type AnyCheckType, type ProbePlan } from './registry.js';

export type Quorum = 'majority' | 'any' | 'all' | number;

/** What one probe of a check does: one member per check type (checks/registry.ts). */
export type { ProbePlan } from './registry.js';

export type CheckNode =
  | { readonly kind: 'probe'; readonly id: string; readonly probe: ProbePlan; readonly inverted: boolean }
  | { readonly kind: 'all' | 'any' | 'at_least'; readonly id: string; readonly n: number; readonly children: readonly CheckNode[]; readonly inverted: boolean };

export interface CheckPlan {
  readonly id: string;
  readonly root: CheckNode;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly rise: number;
  readonly fall: number;
  readonly jitter: number;
  readonly quorum: Quorum;
  readonly staleAfterMs: number;
}

export const CHECK_DEFAULTS = { intervalMs: 10_000, timeoutMs: 2_000, rise: 2, fall: 3, jitter: 0.1 };

/** A problem in `checks:`: a code with its arguments (errors.ts), and where. */
export type CheckProblem = CodedArgs & { readonly path: PathSegment[] };

function ms(value: string | number | undefined): number | undefined {
  return value === undefined ? undefined : checkDurationMs(value);
}

/**
 * Calls `report` for each field of `entry` that belongs to a check type with exclusive fields
 * other than `own` (a dns field on an http check, say).
 */
function foreignFields(entry: CheckEntry, own: AnyCheckType | undefined, report: (field: string, owner: AnyCheckType) => void): void {
  for (const t of CHECK_TYPES as readonly AnyCheckType[]) {
    if (t === own || !t.exclusiveFields) continue;
    for (const field of Object.keys(t.fields)) {
      if ((entry as Record<string, unknown>)[field] !== undefined && !(own && field in own.fields)) report(field, t);
    }
  }
}

/** Compiles every check; returns the plans by id and the problems (empty when all is well). */
export function compileChecks(
  entries: readonly CheckEntry[],
  isBad: (path: PathSegment[]) => boolean,
): { plans: Map<string, CheckPlan>; problems: CheckProblem[] } {
  const problems: CheckProblem[] = [];
  const fail = (path: PathSegment[], reason: string): void => void problems.push({ code: 'MRD_ERR_HEALTH_CHECK', path, args: [formatPath(path), reason] });
  const byId = new Map<string, { entry: CheckEntry; index: number }>();
  entries.forEach((entry, index) => {
    if (isBad(['checks', index])) return;
    if (byId.has(entry.id)) return fail(['checks', index, 'id'], `check "${entry.id}" is defined twice`);
    byId.set(entry.id, { entry, index });
  });

  const nodes = new Map<string, CheckNode | null>();
  const node = (id: string, stack: string[]): CheckNode | null => {
    if (nodes.has(id)) return nodes.get(id)!;
    const { entry: e, index } = byId.get(id)!;
    const at = (field: string): PathSegment[] => ['checks', index, field];
    let result: CheckNode | null = null;
    // Unlike the other http fields (accepted and ignored elsewhere, as they always were), a weight is read only from an http(s) response.
    const misplacedWeight = (): boolean => {
      if (e.weight_from === undefined || e.type === 'http' || e.type === 'https') return false;
      fail(at('weight_from'), `"weight_from" applies to http, https checks, not ${e.type}`);
      return true;
    };
    if (e.type === 'all' || e.type === 'any' || e.type === 'at_least') {
      foreignFields(e, undefined, (field, owner) => fail(at(field), `"${field}" applies to ${owner.types.join(', ')} checks, not ${e.type}`));
      if (!e.checks) fail(at('type'), `a calculated check (${e.type}) needs "checks"`);
      else {
        const children: CheckNode[] = [];
        let ok = true;
        e.checks.forEach((child, j) => {
          if (!byId.has(child)) {
            ok = false;
            return void problems.push({
              code: 'MRD_ERR_POLICY_REFERENCE',
              path: ['checks', index, 'checks', j],
              args: [formatPath(['checks', index, 'checks', j]), 'check', child],
            });
          }
          if (stack.includes(child)) {
            ok = false;
            return fail(['checks', index, 'checks', j], `checks combine each other in a loop: ${[...stack, child].join(' → ')}`);
          }
          const c = node(child, [...stack, child]);
          if (c) children.push(c);
          else ok = false;
        });
        const n = e.type === 'all' ? e.checks.length : e.type === 'any' ? 1 : (e.at_least ?? 0);
        if (e.type === 'at_least' && (e.at_least === undefined || e.at_least > e.checks.length)) {
          ok = false;
          fail(at('at_least'), `must be given, from 1 to the number of checks (${e.checks.length})`);
        }
        if (misplacedWeight()) ok = false;
        if (ok) result = { kind: e.type, id, n, children, inverted: e.inverted ?? false };
      }
    } else {
      const before = problems.length;
      misplacedWeight();
      const type = checkTypeOf(e.type)!;
      const probe = type.compile(e, (path, reason) => fail(['checks', index, ...path], reason)) as ProbePlan;
      foreignFields(e, type, (field, owner) => fail(at(field), `"${field}" applies to ${owner.types.join(', ')} checks, not ${e.type}`));
      if (problems.length === before) result = { kind: 'probe', id, probe, inverted: e.inverted ?? false };
    }
    nodes.set(id, result);
    return result;
  };

  const plans = new Map<string, CheckPlan>();
  for (const [id, { entry: e, index }] of byId) {
    const root = node(id, [id]);
    const intervalMs = ms(e.interval) ?? CHECK_DEFAULTS.intervalMs;
    const timeoutMs = ms(e.timeout) ?? Math.min(CHECK_DEFAULTS.timeoutMs, intervalMs / 2);
    if (intervalMs < 1000) fail(['checks', index, 'interval'], 'must be at least 1s');
    if (timeoutMs >= intervalMs) fail(['checks', index, 'timeout'], `must be less than the interval (${intervalMs / 1000}s)`);
    if (timeoutMs <= 0) fail(['checks', index, 'timeout'], 'must be more than 0');
    if (!root) continue;
    plans.set(id, {
      id,
      root,
      intervalMs,
      timeoutMs,
      rise: e.rise ?? CHECK_DEFAULTS.rise,
      fall: e.fall ?? CHECK_DEFAULTS.fall,
      jitter: e.jitter ?? CHECK_DEFAULTS.jitter,
      quorum: e.quorum ?? 'majority',
      staleAfterMs: ms(e.stale_after) ?? 3 * intervalMs,
    });
  }
  return { plans, problems };
}

/** How many fresh up-votes an endpoint needs, out of `fresh` fresh votes. */
export function votesNeeded(quorum: Quorum, fresh: number): number {
  if (quorum === 'any') return 1;
  if (quorum === 'all') return fresh;
  if (quorum === 'majority') return Math.floor(fresh / 2) + 1;
  return quorum;
}
