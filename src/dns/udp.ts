/**
 * @module dns/udp
 * The UDP transport: one socket, datagrams in, datagrams out. Framing only; every message goes
 * to dns/pipeline.ts with the snapshot current at its arrival.
 */
import dgram from 'node:dgram';
import type { Logger } from 'pino';
import type { QueryEnv } from './pipeline.js';
import { answerMessage } from './fallback.js';

export interface UdpOptions {
  readonly host: string;
  readonly port: number;
  /** What every query shares (the snapshot holder, options, observer); built once per node. */
  readonly env: QueryEnv;
  readonly log: Logger;
  /** Seconds from a message's arrival to its answer (metrics). */
  readonly latency?: (seconds: number) => void;
}

/** Binds a UDP socket and serves queries on it. Resolves once bound. */
export function listenUdp(opts: UdpOptions): Promise<dgram.Socket> {
  const type = opts.host.includes(':') ? 'udp6' : 'udp4';
  // An IP literal needs no lookup; the default lookup costs a tick per send.
  const socket = dgram.createSocket({
    type,
    ipv6Only: type === 'udp6',
    lookup: (host, _o, cb) => (cb as (e: null, a: string, f: number) => void)(null, host, type === 'udp6' ? 6 : 4),
  });
  socket.on('message', (msg, rinfo) => {
    const out = answerMessage(msg, { transport: 'udp', remoteAddress: rinfo.address }, opts.env, opts.log, opts.latency);
    if (out === null) return;
    const messages = Array.isArray(out) ? out : [out];
    for (const m of messages) socket.send(m, rinfo.port, rinfo.address);
  });
  return new Promise((resolve, reject) => {
    // A bind failure is the caller's to report (one line, MRD_ERR_LISTEN), not a logged error too.
    socket.once('error', (err) => {
      try {
        socket.close();
      } catch {
        // never bound: nothing to close
      }
      reject(err);
    });
    socket.bind(opts.port, opts.host, () => {
      socket.removeAllListeners('error');
      socket.on('error', (err) => opts.log.error({ err }, 'udp socket error'));
      resolve(socket);
    });
  });
}
