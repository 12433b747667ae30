/**
 * @module dns/udp
 * The UDP transport on node:dgram: one socket, datagrams in, datagrams out. Framing only; every
 * message goes to dns/pipeline.ts with the snapshot current at its arrival. dns/udp-batched.ts is
 * the same transport over recvmmsg/sendmmsg; both take {@link UdpOptions} and give a
 * {@link UdpTransport}, and both answer through dns/fallback.ts `answerMessage`.
 */
import dgram from 'node:dgram';
import type { Logger } from 'pino';
import type { QueryEnv } from './pipeline.js';
import { answerMessage } from './fallback.js';
import { nodeHasReusePort, type NativeBatchStats, type NativeUdp } from './native.js';

export interface UdpOptions {
  readonly host: string;
  readonly port: number;
  /** What every query shares (the snapshot holder, options, observer); built once per node. */
  readonly env: QueryEnv;
  readonly log: Logger;
  /** Seconds from a message's arrival to its answer (metrics). */
  readonly latency?: (seconds: number) => void;
  /** Share the port with other processes (SO_REUSEPORT): the DNS workers of one node (node/workers.ts). */
  readonly reusePort?: boolean;
  /** SO_RCVBUF in octets, so that a burst or a GC pause does not overflow the socket; 0 or absent: the system's. */
  readonly recvBufferBytes?: number;
  /** The addon (dns/native.ts): batched I/O, and SO_REUSEPORT where node:dgram cannot ask for it (Node 20). */
  readonly native?: NativeUdp | null;
}

/** What the server needs of a UDP transport, whichever carries the datagrams. */
export interface UdpTransport {
  address(): { address: string; port: number };
  /** The receive buffer the kernel granted (Linux reports twice what was asked, for its bookkeeping). */
  getRecvBufferSize(): number;
  /** Stops receiving and closes the socket. */
  close(callback?: () => void): void;
  /** Counters of the batched path (dns/udp-batched.ts); absent on node:dgram. */
  stats?(): NativeBatchStats;
}

/** Binds a UDP socket and serves queries on it. Resolves once bound. */
export function listenUdp(opts: UdpOptions): Promise<dgram.Socket> {
  const type = opts.host.includes(':') ? 'udp6' : 'udp4';
  const recvBufferSize = opts.recvBufferBytes && opts.recvBufferBytes > 0 ? opts.recvBufferBytes : undefined;
  // Node 20's node:dgram cannot set SO_REUSEPORT: the addon binds the socket, and dgram adopts it.
  const adopt = opts.reusePort === true && !nodeHasReusePort();
  if (adopt && !opts.native) return Promise.reject(new Error('SO_REUSEPORT needs Node 22.12+ or the native UDP part on this Node'));
  let fd: number | undefined;
  try {
    if (adopt) fd = opts.native!.openUdp(opts.host, opts.port, true, opts.recvBufferBytes ?? 0, 0).fd;
  } catch (err) {
    return Promise.reject(err);
  }
  // An IP literal needs no lookup; the default lookup costs a tick per send.
  const socket = dgram.createSocket({
    type,
    ipv6Only: type === 'udp6',
    ...(recvBufferSize && fd === undefined ? { recvBufferSize } : {}),
    ...(opts.reusePort && fd === undefined ? ({ reusePort: true } as object) : {}),
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
    const bound = () => {
      socket.removeAllListeners('error');
      socket.on('error', (err) => opts.log.error({ err }, 'udp socket error'));
      resolve(socket);
    };
    if (fd !== undefined) socket.bind({ fd }, bound);
    else socket.bind(opts.port, opts.host, bound);
  });
}
