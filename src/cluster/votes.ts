/**
 * @module cluster/votes
 * Health votes through etcd. The active checker of a region writes its latest vote on each
 * endpoint to `<prefix>/votes/<region>/<endpoint>` under a lease whose TTL is the check's
 * `stale_after`, kept alive while the checker lives: a checker that dies or is cut off stops
 * voting when its lease runs out, and etcd deletes its votes by itself. Every node watches the
 * votes and feeds them into its VoteStore, so every node judges the same votes by the same quorum
 * rules (health/votes.ts) and reaches the same verdicts.
 */
import { PendingVotes } from '../health/pending-votes.js';
import type { Vote, VoteStore } from '../health/votes.js';
import type { EtcdClient, KeyValue, TxnOp, WatchEvent } from './etcd-client.js';
import type { KeyLayout } from './layout.js';
import type { Subscriber } from './etcd-source.js';
import type { Logger } from '../log.js';

/** A vote as stored: the vote and the checker process that cast it. */
type StoredVote = Vote & { readonly by: string };

/** Writes a checker's votes to etcd (the checker side). */
export class EtcdVotePublisher {
  /** Lease id by TTL in seconds. */
  readonly #leases = new Map<number, string>();
  /** Votes not yet written, the newest per endpoint and region (all that matters). */
  readonly #pending = new PendingVotes(() => void this.flush(), false);
  #keepalive: NodeJS.Timeout;
  #failing = false;

  constructor(
    private readonly client: EtcdClient,
    private readonly layout: KeyLayout,
    /** The process id written with each vote (shown in the health view). */
    private readonly by: string,
    /** The `stale_after` of an endpoint's check, in ms. */
    private readonly staleAfterMs: (endpoint: string) => number | undefined,
    private readonly log: Logger,
  ) {
    // Renew every lease each second: the shortest stale_after is a few seconds.
    this.#keepalive = setInterval(() => void this.#renew(), 1000);
    this.#keepalive.unref();
  }

  readonly publish = (votes: Vote[]): void => {
    this.#pending.add(votes);
    this.#pending.schedule(50);
  };

  async #renew(): Promise<void> {
    for (const [ttl, id] of [...this.#leases]) {
      try {
        if ((await this.client.keepAlive(id)) <= 0) this.#leases.delete(ttl);
      } catch {
        // etcd unreachable: the lease may run out; a new one is granted at the next write.
        return;
      }
    }
  }

  async #lease(ttl: number): Promise<string> {
    let id = this.#leases.get(ttl);
    if (!id) {
      id = await this.client.grant(ttl);
      this.#leases.set(ttl, id);
    }
    return id;
  }

  async flush(): Promise<void> {
    const latest = this.#pending.take();
    if (latest.size === 0) return;
    try {
      const ops: TxnOp[] = [];
      for (const v of latest.values()) {
        const ttl = Math.max(1, Math.ceil((this.staleAfterMs(v.endpoint) ?? 10_000) / 1000));
        const lease = await this.#lease(ttl);
        ops.push({ put: { key: this.layout.vote(v.checker, v.endpoint), value: JSON.stringify({ ...v, by: this.by } satisfies StoredVote), lease } });
      }
      for (let i = 0; i < ops.length; i += 100) {
        const out = await this.client.txn([], ops.slice(i, i + 100));
        if (!out.succeeded) throw new Error('vote transaction refused');
      }
      if (this.#failing) this.log.info('votes reach etcd again');
      this.#failing = false;
    } catch (err) {
      // A lease that expired while etcd was away makes the put fail: grant new ones next time.
      this.#leases.clear();
      if (!this.#failing) this.log.warn({ err: (err as Error).message }, 'cannot write votes to etcd; the next run sends fresh ones');
      this.#failing = true;
    }
  }

  /** Stops renewing; with `revoke`, the votes go at once instead of at their leases' end. */
  async close(revoke = false): Promise<void> {
    clearInterval(this.#keepalive);
    this.#pending.close();
    if (revoke) for (const id of this.#leases.values()) await this.client.revoke(id).catch(() => undefined);
    this.#leases.clear();
  }
}

/** Feeds the votes in etcd into a node's VoteStore (the judging side). */
export class EtcdVoteFeed implements Subscriber {
  constructor(
    private readonly layout: KeyLayout,
    private readonly store: VoteStore,
    private readonly log: Logger,
  ) {}

  /** `votes/<region>/<pool>/<id>` → region and endpoint key. */
  #parts(key: string): { checker: string; endpoint: string } | null {
    const rest = key.slice(this.layout.votes.length);
    const slash = rest.indexOf('/');
    return slash > 0 ? { checker: rest.slice(0, slash), endpoint: rest.slice(slash + 1) } : null;
  }

  #vote(kv: { key: string; value: string }): Vote | null {
    const parts = this.#parts(kv.key);
    try {
      const v = JSON.parse(kv.value) as StoredVote;
      if (!parts || typeof v.up !== 'boolean' || typeof v.at !== 'number') throw new Error('not a vote');
      return {
        endpoint: parts.endpoint,
        checker: parts.checker,
        up: v.up,
        rttMs: Number(v.rttMs) || 0,
        reason: String(v.reason ?? ''),
        at: v.at,
        ...(typeof v.by === 'string' ? { by: v.by } : {}),
        ...(typeof v.weight === 'number' && Number.isFinite(v.weight) && v.weight >= 0 ? { weight: v.weight } : {}),
      };
    } catch (err) {
      this.log.warn({ key: kv.key, err: (err as Error).message }, 'ignoring a vote key that is not a vote');
      return null;
    }
  }

  reset(kvs: readonly KeyValue[]): void {
    const votes = kvs.map((kv) => this.#vote(kv)).filter((v): v is Vote => v !== null);
    const held = new Set(votes.map((v) => `${v.checker}\0${v.endpoint}`));
    this.store.retain((endpoint, checker) => held.has(`${checker}\0${endpoint}`));
    this.store.record(votes);
  }

  event(ev: WatchEvent): void {
    if (ev.type === 'delete') {
      const p = this.#parts(ev.key);
      if (p) this.store.forget(p.endpoint, p.checker);
      return;
    }
    const v = this.#vote(ev);
    if (v) this.store.record([v]);
  }
}
