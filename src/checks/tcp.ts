/**
 * @module checks/tcp
 * The `tcp` check type: up when a connection to the port opens within the timeout (then closed
 * at once). Reasons: `ok`, `timeout`, and the connection reasons of ./check.ts {@link reasonOf}.
 * A host name is resolved by node:net (the system resolver) at each run.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { reasonOf, result, type CheckType, type ProbeResult } from './check.js';

export interface TcpPlan {
  readonly type: 'tcp';
  readonly port: number;
  readonly address: string | undefined;
}

export interface TcpProbeSpec {
  kind: 'tcp';
  address: string;
  port: number;
  timeoutMs: number;
}

const fields = {};

export const tcpCheck: CheckType<'tcp', typeof fields, TcpPlan, TcpProbeSpec> = {
  types: ['tcp'],
  fields,
  exclusiveFields: false,
  compile(e, fail) {
    if (e.port === undefined) fail(['port'], 'a tcp check needs a port');
    return { type: 'tcp', port: e.port ?? 0, address: e.address };
  },
  aim: (t, target, timeoutMs) => ({ kind: 'tcp', address: target.address, port: t.port, timeoutMs }),
  open: () => ({ probe: probeTcp, close: async () => undefined }),
};

export function probeTcp(spec: TcpProbeSpec): Promise<ProbeResult> {
  const start = performance.now();
  return new Promise((resolve) => {
    const socket = net.connect({ host: spec.address, port: spec.port });
    const finish = (up: boolean, reason: string): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result(up, start, reason));
    };
    const timer = setTimeout(() => finish(false, 'timeout'), spec.timeoutMs);
    socket.once('connect', () => finish(true, 'ok'));
    socket.once('error', (err) => finish(false, reasonOf(err)));
  });
}
