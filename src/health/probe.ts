/**
 * @module health/probe
 * The probe dispatcher: one runner per check type of checks/registry.ts, opened together
 * and closed together, and each spec handed to the runner of its `kind`. A probe never throws,
 * never rejects and never outlives its timeout; it returns up/down, the RTT and a short, stable
 * reason (each check type's module lists its reasons: ./checks/http.ts, ./checks/tcp.ts,
 * ./checks/dns.ts; the connection reasons are in ./checks/check.ts).
 */
import type { ProbeResult, ProbeRunner, RunnerOptions } from '../checks/check.js';
import { CHECK_TYPES, type AnyCheckType, type ProbeSpec } from '../checks/registry.js';

export type { ProbeResult } from '../checks/check.js';
export { reasonOf } from '../checks/check.js';
export type { ProbeSpec } from '../checks/registry.js';
export { BODY_LIMIT, probeHttp, type HttpProbeSpec } from '../checks/http.js';
export { probeTcp, type TcpProbeSpec } from '../checks/tcp.js';
export { probeDns, type DnsProbeSpec } from '../checks/dns.js';

export interface Prober {
  probe(spec: ProbeSpec): Promise<ProbeResult>;
  close(): Promise<void>;
}

/** Creates the prober: every check type's runner (one shared HTTP Agent among them). */
export function createProber(opts: RunnerOptions = {}): Prober {
  const runners = new Map<string, ProbeRunner<ProbeSpec>>();
  for (const t of CHECK_TYPES as readonly AnyCheckType[]) {
    const runner = t.open(opts) as ProbeRunner<ProbeSpec>;
    for (const name of t.types) runners.set(name, runner);
  }
  return {
    probe: (spec) => runners.get(spec.kind)!.probe(spec),
    close: async () => {
      await Promise.all([...new Set(runners.values())].map((r) => r.close()));
    },
  };
}
