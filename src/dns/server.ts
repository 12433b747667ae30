/**
 * @module dns/server
 * The DNS server: UDP and TCP on the same address and port, both feeding dns/pipeline.ts with the
 * holder's current snapshot. Owns start and graceful stop: stop accepting, let what is in flight
 * finish, then close. UDP moves through node:dgram (dns/udp.ts) or in recvmmsg/sendmmsg batches
 * (dns/udp-batched.ts); with `reusePort` several processes (a node's DNS workers, node/workers.ts)
 * bind the same port and the kernel spreads queries and connections over them.
 */
import type net from 'node:net';
import type { Logger } from 'pino';
import { listenTcp, type TcpStats } from './tcp.js';
import type { CookieJar } from './cookies.js';
import type { ResponseRateLimiter } from './rrl.js';
import { listenUdp, type UdpTransport } from './udp.js';
import { listenBatchedUdp } from './udp-batched.js';
import type { NativeBatchStats, NativeUdp } from './native.js';
import { DEFAULT_PIPELINE_OPTIONS, type QueryEnv, type QueryObserver, type PipelineOptions } from './pipeline.js';
import { createError } from '../errors.js';
import { formatHostPort } from '../address.js';
import type { SnapshotHolder } from '../state/snapshot.js';

export interface DnsServerOptions {
  readonly host: string;
  /** 0 picks a free port (the same one for UDP and TCP). */
  readonly port: number;
  readonly holder: SnapshotHolder;
  readonly log: Logger;
  readonly pipeline?: Partial<PipelineOptions>;
  readonly tcpIdleTimeoutMs?: number;
  readonly tcpMaxConnections?: number;
  /** Connections one client (IPv4 address, IPv6 /64) may hold at once. */
  readonly tcpMaxConnectionsPerClient?: number;
  /** Filled in by the TCP transport (metrics). */
  readonly tcpStats?: TcpStats;
  /** DNS Cookies (dns/cookies.ts); none: COOKIE options are ignored. */
  readonly cookies?: CookieJar;
  /** Response rate limiting on UDP (dns/rrl.ts); none: off. */
  readonly rrl?: ResponseRateLimiter;
  readonly observe?: QueryObserver;
  /** Seconds from a message's arrival to its answer (metrics). */
  readonly latency?: (seconds: number) => void;
  /** How UDP moves: node:dgram, or batches through the native part (needs `native`). Default dgram. */
  readonly udpIo?: UdpIo;
  /** Bind with SO_REUSEPORT, so the node's other DNS workers can bind the same port. */
  readonly reusePort?: boolean;
  /** SO_RCVBUF of the UDP socket in octets; 0 or absent: the system's. */
  readonly udpRecvBufferBytes?: number;
  /** The addon (dns/native.ts): needed for `batched`, and for `reusePort` on Node 20. */
  readonly native?: NativeUdp | null;
}

/** How UDP datagrams move: node:dgram, or recvmmsg/sendmmsg batches (dns/udp-batched.ts). */
export type UdpIo = 'dgram' | 'batched';

/** The UDP side of a running server, for logs and metrics. */
export interface UdpInfo {
  readonly io: UdpIo;
  /** SO_RCVBUF as the kernel reports it (Linux: twice what it grants the data). */
  readonly recvBufferBytes: number;
  /** The batched path's counters (receive and send drops among them). */
  readonly stats: NativeBatchStats | null;
}

export interface DnsAddress {
  readonly host: string;
  readonly port: number;
}

export class DnsServer {
  readonly #opts: DnsServerOptions;
  #udp: UdpTransport | null = null;
  #tcp: net.Server | null = null;
  readonly #connections = new Set<net.Socket>();

  constructor(opts: DnsServerOptions) {
    this.#opts = opts;
  }

  /** Binds UDP, then TCP on the same port; with port 0, retries if TCP finds the port taken. */
  async start(): Promise<DnsAddress> {
    const o = this.#opts;
    // One query environment for both transports, built once.
    const env: QueryEnv = { snapshots: o.holder, options: { ...DEFAULT_PIPELINE_OPTIONS, ...o.pipeline }, observe: o.observe, cookies: o.cookies, rrl: o.rrl };
    const common = { host: o.host, env, log: o.log, ...(o.latency ? { latency: o.latency } : {}), reusePort: o.reusePort ?? false, native: o.native ?? null };
    const listen = (o.udpIo ?? 'dgram') === 'batched' ? listenBatchedUdp : listenUdp;
    for (let attempt = 0; ; attempt++) {
      const udp: UdpTransport = await listen({ ...common, port: o.port, recvBufferBytes: o.udpRecvBufferBytes ?? 0 }).catch((err: Error) => {
        throw Object.assign(createError('MRD_ERR_LISTEN', `udp ${formatHostPort(o.host, o.port)}`, err.message), { cause: err });
      });
      const port = udp.address().port;
      try {
        const tcp = await listenTcp({
          ...common,
          port,
          idleTimeoutMs: o.tcpIdleTimeoutMs ?? 10_000,
          maxConnections: o.tcpMaxConnections ?? 1_000,
          ...(o.tcpMaxConnectionsPerClient !== undefined ? { maxConnectionsPerClient: o.tcpMaxConnectionsPerClient } : {}),
          ...(o.tcpStats ? { stats: o.tcpStats } : {}),
        });
        tcp.on('connection', (s: net.Socket) => {
          this.#connections.add(s);
          s.on('close', () => this.#connections.delete(s));
        });
        this.#udp = udp;
        this.#tcp = tcp;
        return { host: o.host, port };
      } catch (err) {
        udp.close();
        const code = (err as NodeJS.ErrnoException).code;
        if (o.port !== 0 || code !== 'EADDRINUSE' || attempt >= 20) {
          throw Object.assign(createError('MRD_ERR_LISTEN', `tcp ${formatHostPort(o.host, port)}`, (err as Error).message), { cause: err });
        }
      }
    }
  }

  /** The UDP side: which path, the receive buffer granted, the batched path's counters; null before start. */
  udpInfo(): UdpInfo | null {
    const udp = this.#udp;
    if (!udp) return null;
    return { io: this.#opts.udpIo ?? 'dgram', recvBufferBytes: udp.getRecvBufferSize(), stats: udp.stats?.() ?? null };
  }

  /**
   * Stops accepting, closes idle TCP connections once their answers are written, and resolves
   * when everything is closed. Queries are answered synchronously, so nothing is half-done.
   */
  async stop(): Promise<void> {
    const udp = this.#udp;
    const tcp = this.#tcp;
    this.#udp = null;
    this.#tcp = null;
    const closing: Promise<void>[] = [];
    if (udp) closing.push(new Promise((r) => udp.close(() => r())));
    if (tcp) closing.push(new Promise((r) => tcp.close(() => r())));
    for (const s of this.#connections) {
      s.end();
      // A peer that never closes its side must not hold the exit hostage.
      setTimeout(() => s.destroy(), 2_000).unref();
    }
    await Promise.all(closing);
  }
}
