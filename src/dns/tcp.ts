/**
 * @module dns/tcp
 * The TCP transport of RFC 7766: two-octet length framing (RFC 1035 §4.2.2), several queries
 * per connection answered in order (pipelining, RFC 7766 §6.2.1), an idle timeout, a cap on
 * concurrent connections, and back-pressure so a client that does not read cannot make us
 * buffer without bound. A half-sent message simply waits for more bytes until the idle timeout
 * closes the connection; it holds no one else up.
 */
import net from 'node:net';
import type { Logger } from 'pino';
import type { QueryEnv } from './pipeline.js';
import { answerMessage } from './fallback.js';
import { nodeHasReusePort, type NativeUdp } from './native.js';

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
  /** Seconds from a message's arrival to its answer (metrics). */
  readonly latency?: (seconds: number) => void;
  /** Share the port with other processes (SO_REUSEPORT): the DNS workers of one node. */
  readonly reusePort?: boolean;
  /** The addon (dns/native.ts), which binds the socket where node:net cannot set SO_REUSEPORT (Node 20). */
  readonly native?: NativeUdp | null;
}

/** Binds a TCP server and serves DNS on it. Resolves once listening. */
export function listenTcp(opts: TcpOptions): Promise<net.Server> {
  const server = net.createServer({ noDelay: true }, (socket) => serveConnection(socket, opts));
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

function serveConnection(socket: net.Socket, opts: TcpOptions): void {
  const remoteAddress = socket.remoteAddress ?? '';
  let pending: Buffer = Buffer.alloc(0);
  socket.setTimeout(opts.idleTimeoutMs, () => socket.destroy());
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 2) {
      const len = pending.readUInt16BE(0);
      if (pending.length < 2 + len) break;
      const msg = pending.subarray(2, 2 + len);
      pending = pending.subarray(2 + len);
      const out = answerMessage(msg, { transport: 'tcp', remoteAddress }, opts.env, opts.log, opts.latency);
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
