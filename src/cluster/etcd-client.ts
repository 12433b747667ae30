/**
 * @module cluster/etcd-client
 * A small etcd v3 client over etcd's HTTP/JSON gateway (`/v3/kv/*`, `/v3/lease/*`, `/v3/watch`),
 * built on undici. It does what Meridian needs and nothing more: range, put, delete, txn
 * (compare-and-swap), leases, and one resumable watch.
 *
 * Why not a gRPC client: the gateway ships with every etcd since 3.3, keeps the dependency tree to
 * undici (already used for health probes), and lets Meridian decide exactly what happens when etcd
 * goes away. That decision is:
 *   - every request has a deadline; a request that cannot reach any endpoint throws
 *     `MRD_ERR_ETCD` and marks the client unreachable (listeners hear it once);
 *   - the next request that succeeds marks it reachable again;
 *   - etcd answering but refusing who this process is (a wrong password, no user on an etcd with
 *     auth on, no permission on the prefix) is not "unreachable": it throws `MRD_ERR_ETCD_AUTH`,
 *     and listeners of {@link EtcdClient.onCredentialsRefused} hear it once; a process that cannot
 *     run without etcd (`meridian checker`) exits on it, since retrying cannot fix it;
 *   - a watch reconnects by itself with capped, jittered backoff (src/backoff.ts) and resumes
 *     after the last revision it delivered; if etcd compacted that revision away, the watcher's
 *     `reset` reloads everything and says where to resume.
 * Keys and values are UTF-8 strings; the gateway wants them base64, and 64-bit numbers come back
 * as decimal strings.
 */
import { request, Agent } from 'undici';
import { createError, type MeridianError } from '../errors.js';
import { Backoff } from '../backoff.js';
import type { Logger } from '../log.js';

export interface KeyValue {
  readonly key: string;
  readonly value: string;
  readonly createRevision: number;
  readonly modRevision: number;
  readonly lease: string;
}

export interface WatchEvent {
  readonly type: 'put' | 'delete';
  readonly key: string;
  /** Empty for a delete. */
  readonly value: string;
  readonly modRevision: number;
}

/** A comparison in a transaction (etcd `Compare`). */
export type Compare =
  | { key: string; target: 'MOD'; result: 'EQUAL'; modRevision: number }
  | { key: string; target: 'CREATE'; result: 'EQUAL'; createRevision: number };

/** An operation in a transaction. */
export type TxnOp = { put: { key: string; value: string; lease?: string } } | { delete: { key: string; prefix?: boolean } } | { range: { key: string } };

export interface WatchHandler {
  /** Events in revision order, as etcd delivers them. */
  events(events: WatchEvent[]): void;
  /**
   * The revision to resume from is gone (compacted): reload the whole prefix and return the
   * revision the load saw; the watch resumes after it.
   */
  reset(): Promise<number>;
}

export interface Watcher {
  close(): void;
}

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string | undefined): string => (s ? Buffer.from(s, 'base64').toString('utf8') : '');

/** The end of the range of every key starting with `prefix` (etcd's `range_end` convention). */
export function prefixEnd(prefix: string): string {
  const buf = Buffer.from(prefix, 'utf8');
  for (let i = buf.length - 1; i >= 0; i--) {
    if (buf[i]! < 0xff) {
      const end = buf.subarray(0, i + 1);
      end[i]! += 1;
      return end.toString('base64');
    }
  }
  return Buffer.from([0]).toString('base64');
}

interface RawKv {
  key?: string;
  value?: string;
  create_revision?: string;
  mod_revision?: string;
  lease?: string;
}

function kvOf(r: RawKv): KeyValue {
  return {
    key: unb64(r.key),
    value: unb64(r.value),
    createRevision: Number(r.create_revision ?? 0),
    modRevision: Number(r.mod_revision ?? 0),
    lease: r.lease ?? '0',
  };
}

/** TLS towards etcd (`https://` endpoints): the CA that signed etcd's certificate, and a client certificate when etcd asks for one (`--client-cert-auth`). PEM texts. */
export interface EtcdTls {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
}

export interface EtcdClientOptions {
  /** Client URLs, e.g. `http://127.0.0.1:2379`; requests go to the first that answers. */
  readonly endpoints: readonly string[];
  readonly tls?: EtcdTls;
  /** An etcd user (etcd with `auth enable`): the client authenticates and sends the token. */
  readonly auth?: { readonly user: string; readonly password: string };
  readonly log: Logger;
  /** Deadline of one request (default 2000 ms). */
  readonly timeoutMs?: number;
}

export class EtcdClient {
  readonly #endpoints: string[];
  readonly #log: Logger;
  readonly #timeoutMs: number;
  readonly #agent: Agent;
  /** The endpoint that answered last; tried first. */
  #current = 0;
  #reachable = true;
  readonly #listeners = new Set<(reachable: boolean) => void>();
  readonly #refusalListeners = new Set<(err: MeridianError) => void>();
  /** Set while etcd refuses this process's credentials (logged once per episode). */
  #refused: MeridianError | null = null;
  readonly #watchers = new Set<{ close(): void }>();
  #closed = false;
  readonly #auth: { readonly user: string; readonly password: string } | undefined;
  /** The auth token in use (etcd with auth), refreshed when etcd says it is no longer valid. */
  #token: string | null = null;

  constructor(opts: EtcdClientOptions) {
    this.#auth = opts.auth;
    if (opts.endpoints.length === 0) throw createError('MRD_ERR_CONFIG', 'no etcd endpoint given');
    this.#endpoints = opts.endpoints.map((e) => e.replace(/\/+$/, ''));
    const tls = opts.tls ?? {};
    this.#agent = new Agent({
      connect: { timeout: 1000, ...(tls.ca ? { ca: tls.ca } : {}), ...(tls.cert ? { cert: tls.cert } : {}), ...(tls.key ? { key: tls.key } : {}) },
      keepAliveTimeout: 10_000,
    });
    this.#log = opts.log;
    this.#timeoutMs = opts.timeoutMs ?? 2000;
  }

  get endpoints(): readonly string[] {
    return this.#endpoints;
  }

  /** False after a request failed to reach etcd, until one succeeds. */
  get reachable(): boolean {
    return this.#reachable;
  }

  /** Called with every change of {@link reachable}. */
  onReachability(fn: (reachable: boolean) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /**
   * Called once each time etcd starts refusing this process's credentials (`MRD_ERR_ETCD_AUTH`):
   * a wrong password, a missing user on an etcd with auth on, or no permission on the prefix.
   */
  onCredentialsRefused(fn: (err: MeridianError) => void): () => void {
    this.#refusalListeners.add(fn);
    return () => this.#refusalListeners.delete(fn);
  }

  #mark(reachable: boolean, why?: string): void {
    if (reachable === this.#reachable) return;
    this.#reachable = reachable;
    if (reachable) this.#log.info({ endpoints: this.#endpoints }, 'etcd reachable again');
    else this.#log.warn({ endpoints: this.#endpoints, reason: why }, 'etcd unreachable, retrying (a serving node answers from its last snapshot meanwhile)');
    for (const fn of this.#listeners) fn(reachable);
  }

  /** Turns a refusal of who this process is into MRD_ERR_ETCD_AUTH and tells the listeners once. */
  #credentials(err: unknown, path: string): unknown {
    const e = err as MeridianError & { refused?: boolean; status?: number };
    if (!e.refused) return err;
    const auth =
      path === '/v3/auth/authenticate' ||
      e.status === 401 ||
      e.status === 403 ||
      /user name is empty|permission denied|authentication failed|invalid user/i.test(e.message);
    if (!auth) return err;
    const refused = Object.assign(
      createError('MRD_ERR_ETCD_AUTH', `${this.#auth ? `user "${this.#auth.user}"` : 'no --etcd-user given'}: ${e.message.replace(/^etcd: /, '')}`),
      { refused: true, status: e.status },
    );
    if (this.#refused === null) {
      this.#log.error({ endpoints: this.#endpoints, err: refused.message }, "etcd refuses this process's credentials");
      for (const fn of this.#refusalListeners) fn(refused);
    }
    this.#refused = refused;
    return refused;
  }

  /** Headers of every request: JSON, and the auth token when etcd has auth on. */
  #headers(): Record<string, string> {
    return { 'content-type': 'application/json', ...(this.#token ? { authorization: this.#token } : {}) };
  }

  /** Gets a token for the configured user (etcd `Authenticate`). */
  async #authenticate(): Promise<void> {
    this.#token = null;
    const r = await this.#send<{ token: string }>('/v3/auth/authenticate', { name: this.#auth!.user, password: this.#auth!.password }, this.#timeoutMs);
    this.#token = r.token;
  }

  /**
   * One gateway call. With a user configured, authenticates first and once more when etcd says
   * the token is no longer valid (simple tokens expire when unused).
   */
  async #call<T>(path: string, body: unknown, timeoutMs = this.#timeoutMs): Promise<T> {
    let step = '/v3/auth/authenticate';
    try {
      if (this.#auth && this.#token === null) await this.#authenticate();
      step = path;
      let out: T;
      try {
        out = await this.#send<T>(path, body, timeoutMs);
      } catch (err) {
        if (!this.#auth || (err as { status?: number }).status !== 401) throw err;
        step = '/v3/auth/authenticate';
        await this.#authenticate();
        step = path;
        out = await this.#send<T>(path, body, timeoutMs);
      }
      this.#refused = null;
      return out;
    } catch (err) {
      throw this.#credentials(err, step);
    }
  }

  /** One request, trying each endpoint in turn from the last good one. */
  async #send<T>(path: string, body: unknown, timeoutMs: number): Promise<T> {
    if (this.#closed) throw createError('MRD_ERR_ETCD', 'client closed');
    let lastErr: unknown;
    for (let i = 0; i < this.#endpoints.length; i++) {
      const at = (this.#current + i) % this.#endpoints.length;
      try {
        const res = await request(`${this.#endpoints[at]}${path}`, {
          method: 'POST',
          body: JSON.stringify(body),
          headers: this.#headers(),
          dispatcher: this.#agent,
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
          signal: AbortSignal.timeout(timeoutMs),
        });
        const text = await res.body.text();
        if (res.statusCode >= 500 && res.statusCode !== 501) throw new Error(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
        const json = JSON.parse(text) as T & { error?: string; message?: string; code?: number };
        this.#current = at;
        this.#mark(true);
        if (res.statusCode >= 400)
          throw Object.assign(createError('MRD_ERR_ETCD', `${path}: ${json.message ?? json.error ?? text.slice(0, 200)}`), {
            refused: true,
            status: res.statusCode,
          });
        return json;
      } catch (err) {
        if ((err as { refused?: boolean }).refused) throw err;
        lastErr = err;
      }
    }
    const why = (lastErr as Error)?.message ?? String(lastErr);
    this.#mark(false, why);
    throw Object.assign(createError('MRD_ERR_ETCD', `unreachable (${this.#endpoints.join(', ')}): ${why}`), { cause: lastErr }) as MeridianError;
  }

  /** One key, or every key under a prefix. */
  async range(key: string, opts: { prefix?: boolean } = {}): Promise<{ kvs: KeyValue[]; revision: number }> {
    const r = await this.#call<{ header: { revision: string }; kvs?: RawKv[] }>('/v3/kv/range', {
      key: b64(key),
      ...(opts.prefix ? { range_end: prefixEnd(key) } : {}),
    });
    return { kvs: (r.kvs ?? []).map(kvOf), revision: Number(r.header.revision) };
  }

  async get(key: string): Promise<KeyValue | undefined> {
    return (await this.range(key)).kvs[0];
  }

  /** Puts a key (with a lease, when given); returns the new revision. */
  async put(key: string, value: string, opts: { lease?: string } = {}): Promise<number> {
    const r = await this.#call<{ header: { revision: string } }>('/v3/kv/put', {
      key: b64(key),
      value: b64(value),
      ...(opts.lease ? { lease: opts.lease } : {}),
    });
    return Number(r.header.revision);
  }

  async delete(key: string, opts: { prefix?: boolean; to?: string } = {}): Promise<number> {
    const end = opts.to !== undefined ? b64(opts.to) : opts.prefix ? prefixEnd(key) : undefined;
    const r = await this.#call<{ header: { revision: string } }>('/v3/kv/deleterange', { key: b64(key), ...(end ? { range_end: end } : {}) });
    return Number(r.header.revision);
  }

  /**
   * A transaction: if every comparison holds, the `success` operations run, else `failure`'s.
   * This is the compare-and-swap behind every write that must not lose another.
   */
  async txn(compare: Compare[], success: TxnOp[], failure: TxnOp[] = []): Promise<{ succeeded: boolean; revision: number; kvs: KeyValue[] }> {
    const op = (o: TxnOp): unknown =>
      'put' in o
        ? { request_put: { key: b64(o.put.key), value: b64(o.put.value), ...(o.put.lease ? { lease: o.put.lease } : {}) } }
        : 'delete' in o
          ? { request_delete_range: { key: b64(o.delete.key), ...(o.delete.prefix ? { range_end: prefixEnd(o.delete.key) } : {}) } }
          : { request_range: { key: b64(o.range.key) } };
    const cmp = compare.map((c) =>
      c.target === 'MOD'
        ? { key: b64(c.key), target: 'MOD', result: c.result, mod_revision: String(c.modRevision) }
        : { key: b64(c.key), target: 'CREATE', result: c.result, create_revision: String(c.createRevision) },
    );
    const r = await this.#call<{ header: { revision: string }; succeeded?: boolean; responses?: { response_range?: { kvs?: RawKv[] } }[] }>('/v3/kv/txn', {
      compare: cmp,
      success: success.map(op),
      failure: failure.map(op),
    });
    const kvs = (r.responses ?? []).flatMap((x) => (x.response_range?.kvs ?? []).map(kvOf));
    return { succeeded: r.succeeded === true, revision: Number(r.header.revision), kvs };
  }

  /** Grants a lease of `ttl` seconds; returns its id. */
  async grant(ttl: number): Promise<string> {
    const r = await this.#call<{ ID: string }>('/v3/lease/grant', { TTL: String(Math.max(1, Math.ceil(ttl))) });
    return r.ID;
  }

  /** Renews a lease; returns its remaining TTL in seconds, 0 if it has already expired. */
  async keepAlive(id: string): Promise<number> {
    const r = await this.#call<{ result?: { TTL?: string } }>('/v3/lease/keepalive', { ID: id });
    return Number(r.result?.TTL ?? 0);
  }

  async revoke(id: string): Promise<void> {
    try {
      await this.#call('/v3/lease/revoke', { ID: id });
    } catch (err) {
      // A lease that is gone already is fine.
      if (!(err as { refused?: boolean }).refused) throw err;
    }
  }

  /**
   * Watches every key under `prefix` from `startRevision` on. Reconnects by itself (backoff
   * from 100 ms doubling to 2 s, with jitter) and resumes after the last revision delivered.
   */
  watch(prefix: string, startRevision: number, handler: WatchHandler): Watcher {
    let next = startRevision;
    let closed = false;
    let controller: AbortController | null = null;
    const run = async (): Promise<void> => {
      const backoff = new Backoff(100, 2000);
      while (!closed && !this.#closed) {
        controller = new AbortController();
        const at = this.#current;
        try {
          if (this.#auth && this.#token === null) await this.#authenticate();
          const res = await request(`${this.#endpoints[at]}/v3/watch`, {
            method: 'POST',
            body: JSON.stringify({ create_request: { key: b64(prefix), range_end: prefixEnd(prefix), start_revision: String(next) } }),
            headers: this.#headers(),
            dispatcher: this.#agent,
            headersTimeout: this.#timeoutMs,
            bodyTimeout: 0,
            signal: controller.signal,
          });
          if (res.statusCode !== 200) {
            if (res.statusCode === 401) this.#token = null;
            throw new Error(`watch: HTTP ${res.statusCode}: ${(await res.body.text()).slice(0, 200)}`);
          }
          let buffered = '';
          let reset = false;
          for await (const chunk of res.body) {
            buffered += (chunk as Buffer).toString('utf8');
            let nl: number;
            while ((nl = buffered.indexOf('\n')) >= 0) {
              const line = buffered.slice(0, nl).trim();
              buffered = buffered.slice(nl + 1);
              if (!line) continue;
              const msg = JSON.parse(line) as {
                result?: { created?: boolean; canceled?: boolean; compact_revision?: string; events?: { type?: string; kv: RawKv }[] };
                error?: { message?: string };
              };
              if (msg.error) {
                // An expired token: get a new one before reconnecting.
                if (this.#auth && /auth|token|permission/i.test(msg.error.message ?? '')) this.#token = null;
                throw new Error(`watch: ${msg.error.message ?? JSON.stringify(msg.error)}`);
              }
              const r = msg.result;
              if (!r) continue;
              if (r.created) {
                this.#mark(true);
                backoff.reset();
              }
              if (r.compact_revision && r.compact_revision !== '0') {
                this.#log.warn({ from: next, compacted: Number(r.compact_revision) }, 'etcd compacted the revisions the watch needed; reloading everything');
                next = (await handler.reset()) + 1;
                reset = true;
                break;
              }
              if (r.canceled) throw new Error('watch canceled by etcd');
              if (r.events && r.events.length > 0) {
                const events = r.events.map((e) => {
                  const kv = kvOf(e.kv);
                  return { type: e.type === 'DELETE' ? 'delete' : 'put', key: kv.key, value: kv.value, modRevision: kv.modRevision } as WatchEvent;
                });
                next = events[events.length - 1]!.modRevision + 1;
                handler.events(events);
              }
            }
            if (reset) break;
          }
          if (reset) {
            controller.abort();
            continue;
          }
          if (!closed) throw new Error('watch stream ended');
        } catch (err) {
          if (closed || this.#closed) return;
          this.#log.debug({ err: (err as Error).message }, 'etcd watch interrupted; reconnecting');
          // Try another endpoint next time, and let requests find out whether etcd is gone.
          if (this.#endpoints.length > 1) this.#current = (at + 1) % this.#endpoints.length;
          if (backoff.failures >= 2) this.#mark(false, (err as Error).message);
          await new Promise((r) => setTimeout(r, backoff.next()).unref());
        }
      }
    };
    const w = {
      close: () => {
        closed = true;
        controller?.abort();
        this.#watchers.delete(w);
      },
    };
    this.#watchers.add(w);
    void run();
    return w;
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const w of [...this.#watchers]) w.close();
    await this.#agent.close().catch(() => undefined);
  }
}

/** Where and how to reach a cluster's etcd: what the `--etcd*` options say. */
export interface EtcdConnection {
  readonly endpoints: readonly string[];
  readonly prefix: string;
  readonly tls: EtcdTls;
  readonly auth?: { readonly user: string; readonly password: string };
}
