/**
 * @module cluster/audit
 * The audit log across a cluster. Every entry a node records is also put under
 * `<prefix>/audit/<time>-<node>-<n>` (JSON); every node watches that part of the prefix and keeps
 * all nodes' entries, so `GET /v1/audit` on any node shows every change, with the node that took
 * it. Keys sort by time, so entries older than the retention (90 days) are deleted as one range,
 * every hundredth write. An entry that cannot be stored (etcd away: only drill events can happen
 * then, since writes are refused) stays in this node's log and its state directory.
 */
import type { AuditEntry, AuditLog } from '../state/audit.js';
import type { EtcdClient, KeyValue, WatchEvent } from './etcd-client.js';
import type { Subscriber } from './etcd-source.js';
import type { Logger } from '../log.js';

const RETENTION_MS = 90 * 86_400_000;

export class EtcdAudit implements Subscriber {
  #seq = 0;
  readonly #mine = new Set<string>();

  constructor(
    private readonly client: EtcdClient,
    private readonly prefix: string,
    private readonly node: string,
    private readonly log: AuditLog,
    private readonly logger: Logger,
  ) {
    log.node = node;
    log.onRecord = (e) => void this.#store(e);
  }

  async #store(e: AuditEntry): Promise<void> {
    const key = `${this.prefix}${e.at}-${this.node}-${this.#seq++}`;
    this.#mine.add(key);
    try {
      await this.client.put(key, JSON.stringify(e));
      if (this.#seq % 100 === 0) await this.client.delete(this.prefix, { to: `${this.prefix}${new Date(Date.now() - RETENTION_MS).toISOString()}` });
    } catch (err) {
      this.logger.warn({ err: (err as Error).message, action: e.action, target: e.target }, "audit entry not stored in etcd; it is in this node's log only");
    }
  }

  #parse(kv: { key: string; value: string }): AuditEntry | null {
    try {
      return JSON.parse(kv.value) as AuditEntry;
    } catch {
      return null;
    }
  }

  reset(kvs: readonly KeyValue[]): void {
    const entries = kvs.map((kv) => this.#parse(kv)).filter((e): e is AuditEntry => e !== null);
    this.log.replace(entries);
  }

  event(ev: WatchEvent): void {
    // Our own entries are in the log already; deletes are the retention at work.
    if (ev.type !== 'put' || this.#mine.delete(ev.key)) return;
    const e = this.#parse(ev);
    if (e) this.log.ingest(e);
  }
}
