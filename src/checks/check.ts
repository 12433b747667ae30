/**
 * @module checks/check
 * The contract every check type meets, and what all probe types share: the result of one probe,
 * the target it is aimed at, the `port` and `address` fields, and the mapping of socket errors to
 * reasons. A check type is one module in this folder plus one line in ./registry.ts
 * (docs/health.md, "Adding a check type").
 *
 * A check type's life: its `fields` are part of the zone schema (checks/schema.ts
 * assembles them); `compile` turns a validated entry into its plan, a member of the tagged union
 * {@link ./registry.ts ProbePlan}, reporting what a schema cannot check through `fail`; `aim`
 * points a plan at one endpoint for one run (a spec); `open` gives the runner that probes specs
 * (it may hold shared resources, such as the HTTP connection pool, until closed).
 *
 * Imports nothing of src/ but proto/, validation/ and errors.ts (src/layering.test.ts), so the zone
 * schema, the policy compiler and the health layer can all be built on it.
 */
import { Type, type Static, type TObject, type TProperties } from '@sinclair/typebox';
import { performance } from 'node:perf_hooks';

export interface ProbeResult {
  up: boolean;
  /** Milliseconds from start to verdict. */
  rttMs: number;
  reason: string;
  /** Date.now() when the verdict was reached. */
  at: number;
  /** The weight the target reported (an http(s) check with `weight_from`), when it reported one. */
  weight?: number;
  /** Why a check with `weight_from` got no weight from an up response. */
  weightError?: string;
}

/** Where a probe goes: the endpoint's address, or the check's `address` instead. */
export interface ProbeTarget {
  /** IP address or host name to reach. */
  readonly address: string;
  /** The endpoint's host name (without the trailing dot) when the endpoint is one (a CNAME); else undefined. */
  readonly hostname: string | undefined;
}

/** Reports a problem of a check entry: `path` is relative to the entry (`['expect', 0]`). */
export type Fail = (path: readonly (string | number)[], reason: string) => void;

/** Probes specs of one check type. A probe never throws, never rejects and never outlives its timeout. */
export interface ProbeRunner<Spec> {
  probe(spec: Spec): Promise<ProbeResult>;
  close(): Promise<void>;
}

/** One check type (or a family, like http and https). */
export interface CheckType<
  Name extends string,
  Fields extends TProperties,
  Plan extends { readonly type: Name },
  Spec extends { readonly kind: Name; readonly timeoutMs: number },
> {
  /** The `type:` values this module handles. */
  readonly types: readonly Name[];
  /** Its own fields of a check entry (TypeBox properties, all optional), besides `port` and `address`. */
  readonly fields: Fields;
  /**
   * True when these fields are an error on a check of another type. The http fields predate this
   * and stay accepted (and ignored) elsewhere, as they always were.
   */
  readonly exclusiveFields: boolean;
  /** The plan for a validated entry; reports problems through `fail` (the plan is dropped if any). */
  compile(entry: Static<TObject<Fields>> & ProbeFields & { readonly type: Name }, fail: Fail): Plan;
  /** The spec of one run of `plan` against `target`. */
  aim(plan: Plan, target: ProbeTarget, timeoutMs: number): Spec;
  open(options: RunnerOptions): ProbeRunner<Spec>;
}

/** Settings of the runners, given to every check type's `open`. */
export interface RunnerOptions {
  /** HTTP(S): connections at once to one origin. Default 4. */
  readonly connectionsPerOrigin?: number;
}

/** The fields every probe type has. */
export const PROBE_FIELDS = {
  port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, description: 'Port to probe. Default 80 (http), 443 (https), 53 (dns); required for tcp.' })),
  address: Type.Optional(Type.String({ minLength: 1, description: "Probe this address or host instead of the endpoint's." })),
} satisfies TProperties;

export interface ProbeFields {
  readonly port?: number;
  readonly address?: string;
}

/** A verdict, timed from `start` (performance.now()). */
export function result(up: boolean, start: number, reason: string): ProbeResult {
  return { up, rttMs: Math.round((performance.now() - start) * 100) / 100, reason, at: Date.now() };
}

const TLS_CODES = /^(CERT_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_|ERR_TLS_|ERR_SSL_|HOSTNAME_MISMATCH|EPROTO)/;

/** Maps a connection or request error (or its cause) to a probe reason. */
export function reasonOf(err: unknown): string {
  for (
    let e = err as { code?: string; cause?: unknown; name?: string; message?: string } | undefined, depth = 0;
    e && depth < 5;
    e = e.cause as typeof e, depth++
  ) {
    const code = e.code ?? '';
    if (code === 'ECONNREFUSED') return 'refused';
    if (code === 'ECONNRESET' || code === 'EPIPE') return 'reset';
    if (
      code === 'ETIMEDOUT' ||
      code === 'UND_ERR_CONNECT_TIMEOUT' ||
      code === 'UND_ERR_HEADERS_TIMEOUT' ||
      code === 'UND_ERR_BODY_TIMEOUT' ||
      e.name === 'AbortError' ||
      e.name === 'TimeoutError' ||
      code === 'ABORT_ERR'
    )
      return 'timeout';
    if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'EADDRNOTAVAIL') return 'unreachable';
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME') return `dns: ${code}`;
    if (TLS_CODES.test(code)) return `tls: ${code}`;
    if (code === 'UND_ERR_SOCKET' || code === 'UND_ERR_CLOSED') {
      // undici wraps the socket's own error as the cause when there is one.
      if (e.cause) continue;
      return 'closed';
    }
  }
  const e = err as { code?: string; message?: string };
  return `error: ${e?.code ?? e?.message ?? String(err)}`;
}
