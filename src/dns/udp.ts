/**
 * @module dns/udp
 * The UDP transport: one socket, datagrams in, datagrams out. Framing only; every message goes
 * to dns/pipeline.ts with the snapshot current at its arrival.
 */
import dgram from 'node:dgram';
import type { Logger } from 'pino';
import { handleQuery, type PipelineOptions, type QueryObserver } from './pipeline.js';
import { servfailFor } from './fallback.js';
import type { SnapshotHolder } from '../state/snapshot.js';

export interface UdpOptions {
  readonly host: string;
  readonly port: number;
  readonly holder: SnapshotHolder;
  readonly pipeline: PipelineOptions;
  readonly log: Logger;
  readonly observe?: QueryObserver;
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
    let out;
    const t0 = opts.latency ? performance.now() : 0;
    try {
      out = handleQuery(msg, { transport: 'udp', remoteAddress: rinfo.address }, opts.holder.current, opts.pipeline, opts.observe);
    } catch (err) {
      // A bug must cost one answer, not the server.
      opts.log.error({ err, remote: rinfo.address }, 'query failed');
      out = servfailFor(msg);
    }
    if (opts.latency) opts.latency((performance.now() - t0) / 1000);
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
