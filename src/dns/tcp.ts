/**
 * @module dns/tcp
 * The TCP transport of RFC 7766: two-octet length framing (RFC 1035 §4.2.2), several queries
 * per connection answered in order (pipelining, RFC 7766 §6.2.1), an idle timeout, a cap on
 * concurrent connections and a smaller one per client (RFC 7766 §6.2.2, so one client cannot take
 * every slot), and back-pressure so a client that does not read cannot make us buffer without
 * bound. A half-sent message simply waits for more bytes until the idle timeout closes the
 * connection; it holds no one else up.
 *
 * edns-tcp-keepalive (RFC 7828) is answered honestly: each query learns the idle timeout its
 * connection has now. While three quarters of the slots are taken, or its client holds all of its
 * own, that is 0 ("close this connection", RFC 7828 §3.3.2), and the connection is closed after a
 * second of silence instead of the full idle timeout.
 */
import net from 'node:net';
import type { Logger } from 'pino';
import type { QueryEnv } from './pipeline.js';
import { answerMessage } from './fallback.js';
import { nodeHasReusePort, type NativeUdp } from './native.js';
import { addressBytes } from '../policy/client.js';

export interface TcpOptions {
  readonly host: string;
  readonly port: number;
  /** What every query shares (the snapshot holder, options, observer); built once per node. */
  readonly env: QueryEnv;
  readonly log: Logger;
  /** Close a connection idle this long (RFC 7766 §6.2.3 suggests seconds, not minutes). */
  readonly idleTimeoutMs: number;
  /** Refuse connections beyond this many at once (RFC 7766 §6.2.2). */
  readonly maxConnections: number;
  /** Refuse a client's connections beyond this many at once (IPv4 address, or IPv6 /64). */
  readonly maxConnectionsPerClient?: number;
  /** Filled in as connections come and go (metrics). */
  readonly stats?: TcpStats;
  /** Seconds from a message's arrival to its answer (metrics). */
  readonly latency?: (seconds: number) => void;
  /** Share the port with other processes (SO_REUSEPORT): the DNS workers of one node. */
  readonly reusePort?: boolean;
  /** The addon (dns/native.ts), which binds the socket where node:net cannot set SO_REUSEPORT (Node 20). */
  readonly native?: NativeUdp | null;
}

/** Connections one client may hold by default: a fiftieth of the default cap, more than a resolver opens. */
export const DEFAULT_TCP_PER_CLIENT = 20;

/** Connections open now, and those refused (metrics: meridian_dns_tcp_*). */
export interface TcpStats {
  open: number;
  refusedGlobal: number;
  refusedPerClient: number;
}

/** A connection over this grace after being told TIMEOUT 0 is closed by us. */
const CLOSE_GRACE_MS = 1000;

/** The client a connection counts against: its IPv4 address, or the /64 of its IPv6 address (one host's usual share). */
export function tcpClientKey(address: string): string {
  if (!address.includes(':') || (address.startsWith('::ffff:') && address.includes('.'))) return address.replace(/^::ffff:/, '');
  const parsed = addressBytes(address);
  if (!parsed) return address;
  let key = '';
  for (let i = 0; i < 8; i += 2) key += ((parsed.bytes[i]! << 8) | parsed.bytes[i + 1]!).toString(16) + ':';
  return `${key}:/64`;
}

/** Binds a TCP server and serves DNS on it. Resolves once listening. */
export function listenTcp(opts: TcpOptions): Promise<net.Server> {
  const stats = opts.stats ?? { open: 0, refusedGlobal: 0, refusedPerClient: 0 };
  const perClient = new Map<string, number>();
  const perClientMax = opts.maxConnectionsPerClient ?? opts.maxConnections;
  const busyAt = Math.ceil(opts.maxConnections * 0.75);
  const server = net.createServer({ noDelay: true }, (socket) => {
    const key = tcpClientKey(socket.remoteAddress ?? '');
    const held = perClient.get(key) ?? 0;
    if (held >= perClientMax) {
      stats.refusedPerClient++;
      socket.destroy();
      return;
    }
    perClient.set(key, held + 1);
    stats.open++;
    socket.once('close', () => {
      stats.open--;
      const n = (perClient.get(key) ?? 1) - 1;
      if (n <= 0) perClient.delete(key);
      else perClient.set(key, n);
    });
    // RFC 7828 §3.3.2: 0 when resources run low — most slots taken, or this client at its limit.
    const keepaliveMs = (): number => (stats.open >= busyAt || (perClient.get(key) ?? 0) >= perClientMax ? 0 : opts.idleTimeoutMs);
    serveConnection(socket, opts, keepaliveMs);
  });
  server.maxConnections = opts.maxConnections;
  let where: net.ListenOptions = { host: opts.host, port: opts.port, ipv6Only: opts.host.includes(':') };
  if (opts.reusePort && nodeHasReusePort()) where = { ...where, reusePort: true } as net.ListenOptions;
  else if (opts.reusePort) {
    // Node 20: the addon binds with SO_REUSEPORT, and node:net listens on that socket.
    if (!opts.native) return Promise.reject(new Error('SO_REUSEPORT needs Node 22.12+ or the native UDP part on this Node'));
    try {
      where = { fd: opts.native.openTcp(opts.host, opts.port, true).fd } as net.ListenOptions;
    } catch (err) {
      return Promise.reject(err);
    }
  }
  // Node refuses connections past maxConnections itself, and says so.
  server.on('drop', () => stats.refusedGlobal++);
  return new Promise((resolve, reject) => {
    // A listen failure is the caller's to report (one line, MRD_ERR_LISTEN), not a logged error too.
    server.once('error', reject);
    server.listen(where, () => {
      server.off('error', reject);
      server.on('error', (err) => opts.log.error({ err }, 'tcp server error'));
      resolve(server);
    });
  });
}

function frame(message: Buffer): Buffer {
  const out = Buffer.allocUnsafe(message.length + 2);
  out.writeUInt16BE(message.length, 0);
  message.copy(out, 2);
  return out;
}

function serveConnection(socket: net.Socket, opts: TcpOptions, keepaliveMs: () => number): void {
  const remoteAddress = socket.remoteAddress ?? '';
  let pending: Buffer = Buffer.alloc(0);
  let closing = false;
  socket.setTimeout(opts.idleTimeoutMs, () => socket.destroy());
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 2) {
      const len = pending.readUInt16BE(0);
      if (pending.length < 2 + len) break;
      const msg = pending.subarray(2, 2 + len);
      pending = pending.subarray(2 + len);
      const tcpKeepaliveMs = keepaliveMs();
      if (tcpKeepaliveMs === 0 && !closing) {
        // Told to close: what is said is what is done.
        closing = true;
        socket.setTimeout(Math.min(CLOSE_GRACE_MS, opts.idleTimeoutMs));
      }
      const out = answerMessage(msg, { transport: 'tcp', remoteAddress, tcpKeepaliveMs }, opts.env, opts.log, opts.latency);
      if (out === null) {
        // Not a query at all: nothing sensible can follow on this stream.
        socket.end();
        return;
      }
      const messages = Array.isArray(out) ? out : [out];
      let flushed = true;
      for (const m of messages) flushed = socket.write(frame(m));
      if (!flushed) {
        socket.pause();
        socket.once('drain', () => socket.resume());
      }
    }
  });
}
