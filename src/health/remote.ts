/**
 * @module health/remote
 * How the votes of a standalone checker (`meridian checker --node`) reach the node that serves
 * DNS: the checker POSTs them to the node's admin API, `POST /v1/health/votes`, as
 * `{ "checker": REGION, "votes": [Vote, ...] }`. Votes are batched for up to 200 ms. A vote's
 * round-trip time still goes as `rttMs`, the name a node of the previous release takes (it
 * refuses an unknown field); nodes of this release take it or `rtt_ms` (docs/api.md, "Field
 * names"), so nodes and checkers upgrade in any order. The next minor release sends `rtt_ms`.
 *
 * A node that cannot be reached (down, restarting, answering 5xx) is retried, never given up on:
 * the votes not yet delivered are kept (only the newest per endpoint; each keeps its own `at`, so
 * the node judges its age) and sent again after a capped, jittered backoff (500 ms doubling to
 * 5 s; src/backoff.ts), while new votes merge into them instead of each making a request. The
 * change is logged once each way ("node unreachable, retrying", "node reachable again"). A node
 * that refuses the checker itself (401/403: a wrong or missing token) cannot be fixed by
 * retrying: `onRefused` hears it and `meridian checker` exits non-zero with the reason — except
 * that a checker given no token first asks `findToken` (the node's own write token, when the node
 * runs on the same machine: cli/admin-client.ts) and tries once more with what it finds.
 *
 * This is the transport between a standalone checker and a single node; in a cluster, votes go
 * through etcd instead (cluster/votes.ts), behind the same `publish(votes)` function.
 */
import { request, type Dispatcher } from 'undici';
import { Backoff } from '../backoff.js';
import { createError, type MeridianError } from '../errors.js';
import { PendingVotes } from './pending-votes.js';
import type { Vote } from './votes.js';
import type { Logger } from '../log.js';

/** A vote as `POST /v1/health/votes` takes it (admin/health-routes.ts `VoteBody`). */
function wireVote(v: Vote): { endpoint: string; checker: string; up: boolean; rttMs: number; reason: string; at: number; weight?: number } {
  // `weight` only when the target reported one: a node of the previous release refuses the field, and only checks with `weight_from` send it.
  return {
    endpoint: v.endpoint,
    checker: v.checker,
    up: v.up,
    rttMs: v.rttMs,
    reason: v.reason,
    at: v.at,
    ...(v.weight !== undefined ? { weight: v.weight } : {}),
  };
}

export class RemoteVotePublisher {
  readonly #url: string;
  readonly #region: string;
  readonly #log: Logger;
  #token: string | undefined;
  readonly #dispatcher: Dispatcher | undefined;
  readonly #findToken: (() => Promise<string | undefined>) | undefined;
  /** Votes not yet delivered, the newest per checker and endpoint. */
  readonly #pending = new PendingVotes(() => void this.flush(), true);
  #sending = false;
  #failing = false;
  #closed = false;
  readonly #backoff = new Backoff(500, 5000);
  /** Called once when the node refuses this checker (401/403). */
  onRefused: ((err: MeridianError) => void) | undefined;

  constructor(
    nodeUrl: string,
    region: string,
    log: Logger,
    opts: { token?: string | undefined; dispatcher?: Dispatcher | undefined; findToken?: (() => Promise<string | undefined>) | undefined } = {},
  ) {
    this.#url = new URL('/v1/health/votes', nodeUrl).toString();
    this.#region = region;
    this.#log = log;
    this.#token = opts.token;
    this.#dispatcher = opts.dispatcher;
    this.#findToken = opts.token ? undefined : opts.findToken;
  }

  readonly publish = (votes: Vote[]): void => {
    if (this.#closed) return;
    this.#pending.add(votes);
    this.#schedule(200);
  };

  #schedule(ms: number): void {
    if (this.#sending || this.#closed || this.#pending.size === 0) return;
    this.#pending.schedule(ms);
  }

  /** Sends what is pending now; on failure keeps it and retries after the backoff. */
  async flush(): Promise<void> {
    this.#pending.cancel();
    if (this.#pending.size === 0 || this.#sending) return;
    const batch = this.#pending.take();
    this.#sending = true;
    let retryIn = 0;
    try {
      const body = JSON.stringify({ checker: this.#region, votes: [...batch.values()].map(wireVote) });
      let res = await this.#post(body);
      let text = await res.body.text();
      if (res.statusCode === 401 && this.#findToken) {
        // No token given: the node's own, if it runs here and this user may read it.
        const found = await this.#findToken();
        if (found && found !== this.#token) {
          this.#token = found;
          res = await this.#post(body);
          text = await res.body.text();
        }
      }
      if (res.statusCode === 401 || res.statusCode === 403) {
        this.#closed = true;
        const why = `HTTP ${res.statusCode} from ${this.#url}: ${text.slice(0, 200)} (check --token or MERIDIAN_TOKEN, and that the token may write)`;
        this.onRefused?.(createError('MRD_ERR_CHECKER_REFUSED', why));
        return;
      }
      if (res.statusCode >= 300) throw new Error(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
      if (this.#failing) this.#log.info({ url: this.#url }, 'node reachable again; votes delivered');
      this.#failing = false;
      this.#backoff.reset();
    } catch (err) {
      // Keep what was not superseded meanwhile, and try again later.
      this.#pending.restore(batch);
      retryIn = this.#backoff.next();
      if (!this.#failing) this.#log.warn({ url: this.#url, err: (err as Error).message }, 'node unreachable, retrying; votes are kept until it answers');
      this.#failing = true;
    } finally {
      this.#sending = false;
    }
    this.#schedule(retryIn || 200);
  }

  #post(body: string): Promise<Dispatcher.ResponseData> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.#token) headers['authorization'] = `Bearer ${this.#token}`;
    return request(this.#url, {
      method: 'POST',
      headers,
      body,
      headersTimeout: 5000,
      bodyTimeout: 5000,
      signal: AbortSignal.timeout(5000),
      ...(this.#dispatcher ? { dispatcher: this.#dispatcher } : {}),
    });
  }

  /** Sends what is pending once (no retry) and stops. */
  async close(): Promise<void> {
    if (!this.#closed && !this.#failing) await this.flush();
    this.#closed = true;
    this.#pending.close();
  }
}
