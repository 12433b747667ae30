/**
 * @module checks/registry
 * Every check type that probes, one line each. checks/schema.ts takes their `type:` names
 * and fields from here, checks/config.ts their compile step, health/checker.ts their aim, and
 * health/probe.ts their runners. Calculated checks (`all`, `any`, `at_least`) are not probes and
 * live in checks/config.ts and health/checker.ts.
 *
 * Adding a check type: a module in this folder that exports a {@link CheckType}, one line in
 * {@link CHECK_TYPES}, and a section in docs/health.md.
 */
import type { CheckType } from './check.js';
import { dnsCheck } from './dns.js';
import { httpCheck } from './http.js';
import { tcpCheck } from './tcp.js';

export const CHECK_TYPES = [
  httpCheck, // http, https
  tcpCheck, // tcp
  dnsCheck, // dns
] as const;

type Registered = (typeof CHECK_TYPES)[number];

/** What one probe of a check does: a tagged union on `type`, one member per check type. */
export type ProbePlan = Parameters<Registered['aim']>[0];
/** A plan aimed at one endpoint for one run: a tagged union on `kind`. */
export type ProbeSpec = ReturnType<Registered['aim']>;
/** The fields of every probe type together (besides `port` and `address`), as a type. */
export type AllProbeFields = UnionToIntersection<Registered['fields']>;
type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;
/** Every `type:` that probes. */
export type ProbeTypeName = Registered['types'][number];

/** A check type seen without its own types, for dispatch by name. */
// biome-ignore lint/suspicious/noExplicitAny: a registry of types whose plan, spec and options differ: dispatch is by name, and each type checks its own.
export type AnyCheckType = CheckType<string, any, any, any>;

const byName = new Map<string, AnyCheckType>();
for (const t of CHECK_TYPES as readonly AnyCheckType[]) for (const name of t.types) byName.set(name, t);

/** The names of every probe type, in registry order. */
export const PROBE_TYPE_NAMES: readonly ProbeTypeName[] = CHECK_TYPES.flatMap((t) => t.types);

/** The check type that handles `type:` `name`, or undefined when it is not a probe. */
export function checkTypeOf(name: string): AnyCheckType | undefined {
  return byName.get(name);
}
