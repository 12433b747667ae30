/**
 * @module checks/http
 * The `http` and `https` check types: a request with undici, up when the status is in range and
 * (optionally) the first 64 KiB of the body contain a text or match a regular expression.
 * Reasons: `ok`, `status 500`, `body mismatch`, `timeout`, `tls: CODE` and the connection
 * reasons of ./check.ts {@link reasonOf}. With `weight_from`, an up result also carries the
 * weight the target reports (a JSON number at a key of the body, or a header), or why it has none.
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
import { Type } from '@sinclair/typebox';
import { Agent, request, type Dispatcher } from 'undici';
import { reasonOf, result, type CheckType, type ProbeResult, type ProbeRunner, type RunnerOptions } from './check.js';

const DEFAULT_EXPECT_STATUS: [number, number] = [200, 399];

const fields = {
  path: Type.Optional(Type.String({ pattern: '^/', description: 'HTTP path. Default `/`.', 'x-error': 'must start with "/"' })),
  method: Type.Optional(
    Type.String({ pattern: '^[A-Z]+$', description: 'HTTP method. Default `GET`.', 'x-error': 'must be an upper-case HTTP method such as GET or HEAD' }),
  ),
  host: Type.Optional(Type.String({ minLength: 1, description: "Host header and TLS SNI. Default: the endpoint's hostname, or none for an address." })),
  headers: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'Extra request headers.' })),
  expect_status: Type.Optional(
    // An array of two rather than a tuple: OpenAPI 3.0 has no tuple form.
    Type.Array(Type.Integer({ minimum: 100, maximum: 599 }), {
      minItems: 2,
      maxItems: 2,
      description: 'Inclusive status range [low, high] that means up. Default [200, 399].',
    }),
  ),
  body: Type.Optional(Type.String({ description: 'Up only if the first 64 KiB of the body contain this text.' })),
  body_regex: Type.Optional(Type.String({ description: 'Up only if the first 64 KiB of the body match this regular expression.' })),
  tls_verify: Type.Optional(Type.Boolean({ description: 'Verify the server certificate (https). Default true.' })),
  follow_redirects: Type.Optional(Type.Boolean({ description: 'Not supported yet: must be false (a 3xx is judged by its status).' })),
  weight_from: Type.Optional(
    Type.Object(
      {
        json: Type.Optional(
          Type.String({
            minLength: 1,
            description: 'A key in the JSON body (`weight`, or a dotted path such as `lb.weight`) whose value is a number >= 0.',
          }),
        ),
        header: Type.Optional(
          Type.String({
            pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$",
            description: 'A response header whose value is a number >= 0.',
            'x-error': 'must be a header name',
          }),
        ),
      },
      {
        additionalProperties: false,
        minProperties: 1,
        maxProperties: 1,
        description:
          "Read the endpoint's weight from the response (a JSON number at a key, or a header). While fresh it replaces the configured weight (0 drains); when stale, the configured weight returns.",
        'x-error': 'must give exactly one of "json" or "header"',
      },
    ),
  ),
};

/** Where an http(s) check reads the weight a target reports (docs/health.md, "Weights reported by targets"). */
export type WeightFrom = { readonly json: readonly string[] } | { readonly header: string };

/** What one `http`/`https` probe of a check does; the target comes from the endpoint at run time. */
export interface HttpPlan {
  readonly type: 'http' | 'https';
  readonly path: string;
  readonly method: string;
  readonly host: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
  readonly expectStatus: [number, number];
  readonly body: { substring: string } | { regex: RegExp } | undefined;
  readonly tlsVerify: boolean;
  readonly port: number | undefined;
  readonly address: string | undefined;
  readonly weightFrom: WeightFrom | undefined;
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
  /** Read a reported weight from the response. */
  weightFrom?: WeightFrom;
  timeoutMs: number;
}

/** Body bytes read for matching; the rest is discarded unread. */
export const BODY_LIMIT = 64 * 1024;

export const httpCheck: CheckType<'http' | 'https', typeof fields, HttpPlan, HttpProbeSpec> = {
  types: ['http', 'https'],
  fields,
  exclusiveFields: false,
  compile(e, fail) {
    let body: HttpPlan['body'];
    if (e.body !== undefined && e.body_regex !== undefined) fail(['body_regex'], 'give "body" or "body_regex", not both');
    else if (e.body_regex !== undefined) {
      try {
        body = { regex: new RegExp(e.body_regex) };
      } catch (err) {
        fail(['body_regex'], `not a regular expression: ${(err as Error).message}`);
      }
    } else if (e.body !== undefined) body = { substring: e.body };
    if (e.follow_redirects === true) fail(['follow_redirects'], 'following redirects is not supported; a 3xx status is judged by expect_status');
    const [lo, hi] = (e.expect_status ?? DEFAULT_EXPECT_STATUS) as [number, number];
    if (lo > hi) fail(['expect_status'], `the range is empty (${lo} > ${hi})`);
    return {
      type: e.type,
      path: e.path ?? '/',
      method: e.method ?? 'GET',
      host: e.host,
      headers: e.headers ?? {},
      expectStatus: [lo, hi],
      body,
      tlsVerify: e.tls_verify ?? true,
      port: e.port,
      address: e.address,
      weightFrom:
        e.weight_from === undefined
          ? undefined
          : e.weight_from.json !== undefined
            ? { json: e.weight_from.json.split('.') }
            : { header: e.weight_from.header!.toLowerCase() },
    };
  },
  aim(t, target, timeoutMs) {
    const host = t.host ?? target.hostname;
    const spec: HttpProbeSpec = {
      kind: t.type,
      address: target.address,
      port: t.port ?? (t.type === 'https' ? 443 : 80),
      path: t.path,
      method: t.method,
      headers: { ...t.headers },
      expectStatus: t.expectStatus,
      tlsVerify: t.tlsVerify,
      followRedirects: false,
      timeoutMs,
    };
    if (host !== undefined) spec.host = host;
    if (t.body !== undefined) spec.body = t.body;
    if (t.weightFrom !== undefined) spec.weightFrom = t.weightFrom;
    return spec;
  },
  open: (options) => openHttp(options),
};

/** The runner: one shared Agent for every HTTP(S) check. */
export function openHttp(opts: RunnerOptions = {}): ProbeRunner<HttpProbeSpec> {
  const agent = new Agent({
    connections: opts.connectionsPerOrigin ?? 4,
    pipelining: 0, // one request per connection at a time, and no reuse of a connection across runs
    keepAliveTimeout: 1,
    keepAliveMaxTimeout: 1,
    connect: connector(),
  });
  return {
    probe: (spec) => probeHttp(spec, agent),
    close: async () => {
      await agent.close().catch(() => undefined);
    },
  };
}

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
    const timer = setTimeout(
      () => {
        socket.destroy(Object.assign(new Error('connect timeout'), { code: 'UND_ERR_CONNECT_TIMEOUT' }));
      },
      Math.min(o.timeout ?? 5_000, 5_000),
    );
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

/**
 * The weight a response reports: a JSON number >= 0 at the key path, or a header holding one.
 * `{ weight }` when there is one, else `{ weightError }` saying why (the configured weight then
 * comes back once the last reported one goes stale).
 */
export function reportedWeight(
  from: WeightFrom,
  headers: Record<string, string | string[] | undefined>,
  body: string | undefined,
): { weight: number } | { weightError: string } {
  let value: unknown;
  if ('header' in from) {
    const h = headers[from.header];
    const text = (Array.isArray(h) ? h[0] : h)?.trim();
    if (text === undefined || text === '') return { weightError: `no ${from.header} header` };
    value = /^[0-9]+(\.[0-9]+)?$/.test(text) ? Number(text) : text;
  } else {
    const where = from.json.join('.');
    if (body === undefined) return { weightError: 'no body (HEAD)' };
    try {
      value = JSON.parse(body) as unknown;
    } catch {
      return { weightError: body.length >= BODY_LIMIT ? `body over ${BODY_LIMIT} octets is not read whole` : 'body is not JSON' };
    }
    for (const key of from.json) {
      if (value === null || typeof value !== 'object' || Array.isArray(value) || !Object.hasOwn(value, key))
        return { weightError: `no key ${where} in the body` };
      value = (value as Record<string, unknown>)[key];
    }
  }
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) return { weightError: `weight ${JSON.stringify(value)} is not a number >= 0` };
  return { weight: value };
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
    const wantsJson = spec.weightFrom !== undefined && 'json' in spec.weightFrom && spec.method !== 'HEAD';
    let text: string | undefined;
    if ((spec.body || wantsJson) && spec.method !== 'HEAD') text = await readBody(r.body);
    else discard(r.body);
    if (spec.body && text !== undefined) {
      const match = 'substring' in spec.body ? text.includes(spec.body.substring) : spec.body.regex.test(text);
      if (!match) return result(false, start, 'body mismatch');
    }
    const up = result(true, start, 'ok');
    if (spec.weightFrom) Object.assign(up, reportedWeight(spec.weightFrom, r.headers, text));
    return up;
  } catch (err) {
    if (res) discard(res.body);
    return result(false, start, signal.aborted ? 'timeout' : reasonOf(err));
  }
}
