/**
 * @module cluster/election
 * One active checker per region. Every process that can check for region R (a `serve` node
 * without `--no-checks`, or a `meridian checker`) campaigns for the key `<prefix>/checkers/R`:
 * whoever creates it, under its own lease, runs R's checks; the others stand by. Probe load so
 * follows regions, not nodes: three nodes in one region probe a target as often as one.
 *
 * The leader renews its lease every third of the TTL. If it dies or is cut off, the lease runs out
 * (at most one TTL later), etcd deletes the key, every standby sees the delete through its watch
 * and campaigns at once; one wins. A leader that cannot renew for a whole TTL knows its lease is
 * gone and stops checking by itself, so two checkers of one region never both vote for long.
 * A standby also re-campaigns every third of the TTL, in case it missed the delete; while etcd
 * cannot be reached it backs off instead (from a third of the TTL doubling to 5 s, with jitter;
 * src/backoff.ts), and campaigns again as soon as etcd answers. Nothing here ends the process:
 * when etcd comes back after any outage, the region's election simply runs again.
 */
import { Backoff } from '../backoff.js';
import type { EtcdClient, KeyValue, WatchEvent } from './etcd-client.js';
import type { KeyLayout } from './layout.js';
import type { Subscriber } from './etcd-source.js';
import type { Logger } from '../log.js';

export interface ElectionOptions {
  readonly client: EtcdClient;
  readonly layout: KeyLayout;
  readonly region: string;
  /** This process's id. */
  readonly id: string;
  /** Lease TTL in seconds: the longest a dead leader holds its region. */
  readonly ttlSeconds: number;
  readonly log: Logger;
  /** Called when this process becomes or stops being the region's active checker. */
  readonly onChange: (leader: boolean) => void;
}

export class RegionElection implements Subscriber {
  readonly #o: ElectionOptions;
  readonly #key: string;
  #lease: string | null = null;
  #leader = false;
  /** Who holds each region (from the watch), for display. */
  readonly #holders = new Map<string, { id: string; since: string }>();
  #timer: NodeJS.Timeout | undefined;
  #lastRenew = 0;
  #campaigning = false;
  #stopped = false;
  readonly #backoff: Backoff;

  constructor(opts: ElectionOptions) {
    this.#o = opts;
    this.#key = opts.layout.checker(opts.region);
    const every = (opts.ttlSeconds * 1000) / 3;
    this.#backoff = new Backoff(every, Math.max(every, 5000));
  }

  get leader(): boolean {
    return this.#leader;
  }

  /** The active checker of each region, as this node last saw it. */
  holders(): ReadonlyMap<string, { id: string; since: string }> {
    return this.#holders;
  }

  start(): void {
    const tick = (): void => {
      if (this.#stopped) return;
      const leader = this.#leader;
      void (leader ? this.#renew().then(() => true) : this.campaign()).then((answered) => {
        if (this.#stopped) return;
        // The leader renews every third of the TTL whatever happens (it must, to keep its lease).
        this.#timer = setTimeout(tick, leader || this.#leader || answered ? (this.#o.ttlSeconds * 1000) / 3 : this.#backoff.next());
        this.#timer.unref();
      });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    // Hand the region over at once instead of after a TTL.
    if (this.#lease) await this.#o.client.revoke(this.#lease).catch(() => undefined);
    this.#set(false);
  }

  #set(leader: boolean): void {
    if (leader === this.#leader) return;
    this.#leader = leader;
    this.#o.log.info(
      { region: this.#o.region, id: this.#o.id },
      leader ? 'this process is now the active checker of its region' : 'this process is no longer the active checker of its region; standing by',
    );
    this.#o.onChange(leader);
  }

  async #renew(): Promise<void> {
    try {
      const ttl = await this.#o.client.keepAlive(this.#lease!);
      if (ttl <= 0) {
        this.#lease = null;
        this.#set(false);
        return;
      }
      this.#lastRenew = Date.now();
    } catch {
      // Cut off: once a whole TTL passed without a renewal, the lease is gone.
      if (Date.now() - this.#lastRenew >= this.#o.ttlSeconds * 1000) {
        this.#lease = null;
        this.#set(false);
      }
    }
  }

  /** Tries to become the region's active checker; false if etcd could not be asked. */
  async campaign(): Promise<boolean> {
    if (this.#campaigning || this.#leader || this.#stopped) return true;
    this.#campaigning = true;
    try {
      const { client } = this.#o;
      if (this.#lease === null || (await client.keepAlive(this.#lease)) <= 0) this.#lease = await client.grant(this.#o.ttlSeconds);
      const since = new Date().toISOString();
      const out = await client.txn(
        [{ key: this.#key, target: 'CREATE', result: 'EQUAL', createRevision: 0 }],
        [{ put: { key: this.#key, value: JSON.stringify({ id: this.#o.id, since }), lease: this.#lease } }],
        [{ range: { key: this.#key } }],
      );
      const held = out.succeeded ? this.#o.id : (JSON.parse(out.kvs[0]?.value ?? '{}') as { id?: string }).id;
      if (held === this.#o.id && (out.succeeded || out.kvs[0]?.lease === this.#lease)) {
        this.#lastRenew = Date.now();
        this.#set(true);
      }
      this.#backoff.reset();
      return true;
    } catch {
      // etcd unreachable (the client logged it once): try again after the backoff.
      return false;
    } finally {
      this.#campaigning = false;
    }
  }

  #region(key: string): string {
    return key.slice(this.#o.layout.checkers.length);
  }

  reset(kvs: readonly KeyValue[]): void {
    this.#holders.clear();
    for (const kv of kvs) {
      try {
        this.#holders.set(this.#region(kv.key), JSON.parse(kv.value) as { id: string; since: string });
      } catch {
        // not ours
      }
    }
  }

  event(ev: WatchEvent): void {
    const region = this.#region(ev.key);
    if (ev.type === 'put') {
      try {
        this.#holders.set(region, JSON.parse(ev.value) as { id: string; since: string });
      } catch {
        // not ours
      }
      return;
    }
    this.#holders.delete(region);
    if (ev.key === this.#key) {
      // The leader's lease ended (or it stepped down): if it was this process, it lost the lease.
      if (this.#leader) {
        this.#lease = null;
        this.#set(false);
      }
      void this.campaign();
    }
  }
}
