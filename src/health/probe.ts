/**
 * @module health/probe
 * One probe of one target: `http`/`https` with undici, `tcp` with node:net. A probe never throws,
 * never rejects and never outlives its timeout; it returns up/down, the RTT and a short, stable
 * reason (`ok`, `status 500`, `timeout`, `refused`, `reset`, `closed`, `unreachable`,
 * `tls: CODE`, `body mismatch`, `dns: CODE`, `error: CODE`).
 *
 * All HTTP probes share one undici Agent with a bounded number of connections per origin and no
 * keep-alive reuse across runs, so a dead target is noticed and a slow one cannot hold up others.
 * TLS verification and SNI differ per check, and undici sets TLS options per dispatcher, so the
 * Agent's `connect` is our own function: it reads the verification mode and servername from
 * options the request carries (a per-request `servername`, and a private header the connect
 * function never sends).
 */
import net from 'node:net';
import tls from 'node:tls';
import { performance } from 'node:perf_hooks';
import { Agent, request, type Dispatcher } from 'undici';

export interface ProbeResult {
  up: boolean;
  /** Milliseconds from start to verdict. */
  rttMs: number;
  reason: string;
  /** Date.now() when the verdict was reached. */
  at: number;
}

export interface HttpProbeSpec {
  kind: 'http' | 'https';
  /** IP address or host name to connect to. */
  address: string;
  port: number;
  path: string;
  method: string;
  /** Host header and TLS SNI; default: the address. */
  host?: string;
  headers: Record<string, string>;
  /** Inclusive range of statuses that mean up. */
  expectStatus: [number, number];
  /** Matched over the first 64 KiB of the body. */
  body?: { substring: string } | { regex: RegExp };
  tlsVerify: boolean;
  /** Must be false: a 3xx is judged by its status. */
  followRedirects: boolean;
  timeoutMs: number;
}

export interface TcpProbeSpec {
  kind: 'tcp';
  address: string;
  port: number;
  timeoutMs: number;
}

export type ProbeSpec = HttpProbeSpec | TcpProbeSpec;

export interface Prober {
  probe(spec: ProbeSpec): Promise<ProbeResult>;
  close(): Promise<void>;
}

/** Body bytes read for matching; the rest is discarded unread. */
export const BODY_LIMIT = 64 * 1024;

const TLS_CODES = /^(CERT_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_|ERR_TLS_|ERR_SSL_|HOSTNAME_MISMATCH|EPROTO)/;

/** Maps a connection or request error (or its cause) to a probe reason. */
export function reasonOf(err: unknown): string {
  for (let e = err as { code?: string; cause?: unknown; name?: string; message?: string } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    const code = e.code ?? '';
    if (code === 'ECONNREFUSED') return 'refused';
    if (code === 'ECONNRESET' || code === 'EPIPE') return 'reset';
    if (code === 'ETIMEDOUT' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || e.name === 'AbortError' || e.name === 'TimeoutError' || code === 'ABORT_ERR') return 'timeout';
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

/** Per-request TLS settings travel to the Agent's connect function in this header, which is never sent. */
const TLS_HEADER = 'x-meridian-probe-tls';

function isIp(host: string): boolean {
  return net.isIP(host) !== 0;
}

function connector(): NonNullable<Agent.Options['connect']> {
  // undici calls connect(options, callback) for each new connection. Our options come from the
  // origin (host, port, protocol) and the request's servername.
  return (opts, callback) => {
    const o = opts as unknown as { hostname: string; host?: string; port: string; protocol: string; servername?: string; timeout?: number };
    const host = o.hostname.replace(/^\[|\]$/g, '');
    const port = Number(o.port) || (o.protocol === 'https:' ? 443 : 80);
    const timer = setTimeout(() => {
      socket.destroy(Object.assign(new Error('connect timeout'), { code: 'UND_ERR_CONNECT_TIMEOUT' }));
    }, Math.min(o.timeout ?? 5_000, 5_000));
    let socket: net.Socket;
    const done = (err: Error | null): void => {
      clearTimeout(timer);
      if (err) callback(err, null);
      else callback(null, socket);
    };
    if (o.protocol === 'https:') {
      // servername carries "verify|name" or "noverify|name" (see probeHttp).
      const [mode, name] = (o.servername ?? 'verify|').split('|', 2) as [string, string];
      const options: tls.ConnectionOptions = { host, port, rejectUnauthorized: mode !== 'noverify', ALPNProtocols: ['http/1.1'] };
      if (name && !isIp(name)) options.servername = name;
      socket = tls.connect(options);
      socket.once('secureConnect', () => done(null));
    } else {
      socket = net.connect({ host, port });
      socket.once('connect', () => done(null));
    }
    socket.once('error', (err) => done(err));
    socket.setNoDelay(true);
    return socket;
  };
}

/** Creates the prober: one shared Agent for every HTTP(S) check. */
export function createProber(opts: { connectionsPerOrigin?: number } = {}): Prober {
  const agent = new Agent({
    connections: opts.connectionsPerOrigin ?? 4,
    pipelining: 0, // one request per connection at a time, and no reuse of a connection across runs
    keepAliveTimeout: 1,
    keepAliveMaxTimeout: 1,
    connect: connector(),
  });
  return {
    probe: (spec) => (spec.kind === 'tcp' ? probeTcp(spec) : probeHttp(spec, agent)),
    close: async () => {
      await agent.close().catch(() => undefined);
    },
  };
}

function result(up: boolean, start: number, reason: string): ProbeResult {
  return { up, rttMs: Math.round((performance.now() - start) * 100) / 100, reason, at: Date.now() };
}

/**
 * Drops a response body without reading it. Destroying an undici body emits an 'error'
 * (RequestAbortedError); with no listener that would crash the process, so one is added first.
 */
function discard(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => undefined);
  body.destroy();
}

/** Reads up to BODY_LIMIT bytes, then stops the stream (never buffers an endless body). */
async function readBody(body: Dispatcher.ResponseData['body']): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of body) {
    const b = chunk as Buffer;
    chunks.push(b);
    n += b.length;
    if (n >= BODY_LIMIT) break;
  }
  discard(body);
  return Buffer.concat(chunks).subarray(0, BODY_LIMIT).toString('utf8');
}

export async function probeHttp(spec: HttpProbeSpec, dispatcher: Dispatcher): Promise<ProbeResult> {
  const start = performance.now();
  const hostLiteral = net.isIPv6(spec.address) ? `[${spec.address}]` : spec.address;
  const url = `${spec.kind}://${hostLiteral}:${spec.port}${spec.path}`;
  const signal = AbortSignal.timeout(spec.timeoutMs);
  const headers: Record<string, string> = { 'user-agent': 'meridian-health-check', ...spec.headers };
  if (spec.host) headers['host'] = spec.host;
  let res: Dispatcher.ResponseData<unknown> | undefined;
  try {
    const r = await request(url, {
      method: spec.method as Dispatcher.HttpMethod,
      headers,
      dispatcher,
      signal,
      headersTimeout: spec.timeoutMs,
      bodyTimeout: spec.timeoutMs,
      maxRedirections: 0,
      // The connect function reads verification mode and SNI from here.
      ...(spec.kind === 'https' ? { servername: `${spec.tlsVerify ? 'verify' : 'noverify'}|${spec.host ?? spec.address}` } : {}),
    } as Parameters<typeof request>[1]);
    res = r;
    const inRange = r.statusCode >= spec.expectStatus[0] && r.statusCode <= spec.expectStatus[1];
    if (!inRange) {
      discard(r.body);
      return result(false, start, `status ${r.statusCode}`);
    }
    if (spec.body && spec.method !== 'HEAD') {
      const text = await readBody(r.body);
      const match = 'substring' in spec.body ? text.includes(spec.body.substring) : spec.body.regex.test(text);
      return result(match, start, match ? 'ok' : 'body mismatch');
    }
    discard(r.body);
    return result(true, start, 'ok');
  } catch (err) {
    if (res) discard(res.body);
    return result(false, start, signal.aborted ? 'timeout' : reasonOf(err));
  }
}

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
