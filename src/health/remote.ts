/**
 * @module health/remote
 * How the votes of a standalone checker (`meridian checker`) reach the node that serves DNS:
 * the checker POSTs them to the node's admin API, `POST /v1/health/votes`, as
 * `{ "checker": REGION, "votes": [Vote, ...] }`. Votes are batched for up to 200 ms; a failed
 * post is logged and dropped (the next run sends fresh votes, and on the node old ones go stale).
 *
 * This is the transport between a standalone checker and a single node; in a cluster, votes go
 * through etcd instead (cluster/votes.ts), behind the same `publish(votes)` function.
 */
import { request } from 'undici';
import type { Vote } from './votes.js';
import type { Logger } from '../log.js';

export class RemoteVotePublisher {
  readonly #url: string;
  readonly #region: string;
  readonly #log: Logger;
  readonly #token: string | undefined;
  #batch: Vote[] = [];
  #timer: NodeJS.Timeout | undefined;
  #failing = false;

  constructor(nodeUrl: string, region: string, log: Logger, token?: string) {
    this.#url = new URL('/v1/health/votes', nodeUrl).toString();
    this.#region = region;
    this.#log = log;
    this.#token = token;
  }

  readonly publish = (votes: Vote[]): void => {
    this.#batch.push(...votes);
    this.#timer ??= setTimeout(() => void this.flush(), 200);
  };

  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#batch.length === 0) return;
    const votes = this.#batch;
    this.#batch = [];
    try {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (this.#token) headers['authorization'] = `Bearer ${this.#token}`;
      const res = await request(this.#url, { method: 'POST', headers, body: JSON.stringify({ checker: this.#region, votes }), headersTimeout: 5000, bodyTimeout: 5000 });
      const text = await res.body.text();
      if (res.statusCode >= 300) throw new Error(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
      if (this.#failing) this.#log.info({ url: this.#url }, 'votes reach the node again');
      this.#failing = false;
    } catch (err) {
      if (!this.#failing) this.#log.warn({ url: this.#url, err: (err as Error).message }, 'cannot send votes to the node; will retry with the next ones');
      this.#failing = true;
    }
  }

  async close(): Promise<void> {
    await this.flush();
  }
}
