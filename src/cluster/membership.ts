/**
 * @module cluster/membership
 * Who is in the cluster. Every node and checker writes `<prefix>/nodes/<id>` under its own lease
 * every second: its id, kind, region, DNS and admin addresses, version, the configuration revision
 * it serves, whether it is its region's active checker, and when it wrote. A process that dies
 * disappears when its lease ends. `GET /v1/nodes` lists what every node's watch has seen, so an
 * operator sees a node that lags (a lower revision) or went quiet (an old `last_seen`).
 *
 * The heartbeat write doubles as the node's probe of etcd: when it fails, the client marks etcd
 * unreachable (readiness says "degraded") until a request succeeds again. While it fails, beats
 * back off (from the interval doubling to 5 s, with jitter; src/backoff.ts) instead of hammering
 * an etcd that is down, and the first one that succeeds resumes the normal interval.
 */
import { Backoff } from '../backoff.js';
import type { EtcdClient, KeyValue, WatchEvent } from './etcd-client.js';
import type { KeyLayout } from './layout.js';
import type { Subscriber } from './etcd-source.js';
import type { Logger } from '../log.js';

export interface MemberRecord {
  readonly id: string;
  readonly kind: 'node' | 'checker';
  readonly region: string;
  readonly dns: string | null;
  readonly admin: string | null;
  readonly version: string;
  /** Configuration revision this member serves (cluster/etcd-source.ts `revision()`). */
  readonly revision: number;
  /** True while it runs its region's checks. */
  readonly active_checker: boolean;
  readonly started_at: string;
  /** When it last wrote this record. */
  readonly seen_at: string;
}

export interface MembershipOptions {
  readonly client: EtcdClient;
  readonly layout: KeyLayout;
  readonly self: () => MemberRecord;
  /** Lease TTL in seconds (a dead member disappears after this). */
  readonly ttlSeconds: number;
  readonly intervalMs?: number;
  readonly log: Logger;
}

export class Membership implements Subscriber {
  readonly #o: MembershipOptions;
  readonly #members = new Map<string, MemberRecord>();
  #lease: string | null = null;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  readonly #backoff: Backoff;

  constructor(opts: MembershipOptions) {
    this.#o = opts;
    const interval = opts.intervalMs ?? 1000;
    this.#backoff = new Backoff(interval, Math.max(interval, 5000));
  }

  start(): void {
    const tick = (): void => {
      void this.beat().then((ok) => {
        if (this.#stopped) return;
        this.#timer = setTimeout(tick, ok ? (this.#o.intervalMs ?? 1000) : this.#backoff.next());
        this.#timer.unref();
      });
    };
    tick();
  }

  /** Renews the lease and writes this member's record; false if etcd could not be reached. */
  async beat(): Promise<boolean> {
    const { client, layout } = this.#o;
    try {
      if (this.#lease === null || (await client.keepAlive(this.#lease)) <= 0) this.#lease = await client.grant(this.#o.ttlSeconds);
      const me = this.#o.self();
      await client.put(layout.node(me.id), JSON.stringify(me), { lease: this.#lease });
      this.#backoff.reset();
      return true;
    } catch {
      // The client logged that etcd is unreachable (or refuses us); the next beat tries again.
      return false;
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    if (this.#lease) await this.#o.client.revoke(this.#lease).catch(() => undefined);
  }

  /** Every member this node knows of, by id. */
  members(): MemberRecord[] {
    return [...this.#members.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  reset(kvs: readonly KeyValue[]): void {
    this.#members.clear();
    for (const kv of kvs) this.event({ type: 'put', key: kv.key, value: kv.value, modRevision: kv.modRevision });
  }

  event(ev: WatchEvent): void {
    const id = ev.key.slice(this.#o.layout.nodes.length);
    if (ev.type === 'delete') {
      this.#members.delete(id);
      return;
    }
    try {
      this.#members.set(id, JSON.parse(ev.value) as MemberRecord);
    } catch {
      this.#o.log.warn({ key: ev.key }, 'ignoring a member key that is not a member record');
    }
  }
}
