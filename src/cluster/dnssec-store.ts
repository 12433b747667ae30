/**
 * @module cluster/dnssec-store
 * Cluster mode's DNSSEC {@link KeyStore}: one key per zone under `<prefix>/dnssec/` holding its
 * key record (JSON), so that every node signs with the same keys and shows the same DS. Writes are
 * compare-and-swap on the key's mod revision (create-if-absent for a new zone, so two nodes that
 * both see a newly signed zone cannot make two key sets: the second adopts the first's). Changes
 * made by other nodes arrive through the cluster's one watch (cluster/etcd-source.ts subscribers).
 * A record that does not parse is logged and ignored; the keys in force stay.
 */
import { recordProblem, type KeyRecord } from '../dnssec/keys.js';
import type { CommitResult } from '../state/source.js';
import type { KeyStore, StoredRecord } from '../state/dnssec.js';
import type { EtcdClient, KeyValue, WatchEvent } from './etcd-client.js';
import type { Subscriber } from './etcd-source.js';
import type { KeyLayout } from './layout.js';
import type { Logger } from '../log.js';

export class EtcdKeyStore implements KeyStore, Subscriber {
  readonly kind = 'etcd' as const;
  onChange: ((zone: string, stored: StoredRecord | null) => void) | undefined;
  /** Key → zone origin, for deletes (whose events carry no value). */
  readonly #zones = new Map<string, string>();

  constructor(
    private readonly client: EtcdClient,
    private readonly layout: KeyLayout,
    private readonly log: Logger,
  ) {}

  #parse(kv: KeyValue): StoredRecord | null {
    let data: unknown;
    try {
      data = JSON.parse(kv.value);
    } catch (err) {
      this.log.error({ key: kv.key, err: (err as Error).message }, 'DNSSEC key record in etcd is not JSON; ignored');
      return null;
    }
    const problem = recordProblem(data);
    if (problem) {
      this.log.error({ key: kv.key, err: problem }, 'DNSSEC key record in etcd is not usable; ignored');
      return null;
    }
    this.#zones.set(kv.key, (data as KeyRecord).zone);
    return { record: data as KeyRecord, revision: String(kv.modRevision) };
  }

  async load(): Promise<Map<string, StoredRecord>> {
    const out = new Map<string, StoredRecord>();
    const { kvs } = await this.client.range(this.layout.dnssec, { prefix: true });
    for (const kv of kvs) {
      const stored = this.#parse(kv);
      if (stored) out.set(stored.record.zone, stored);
    }
    return out;
  }

  async put(record: KeyRecord, expected: string | null): Promise<CommitResult> {
    const key = this.layout.dnssecKeys(record.zone);
    const compare =
      expected === null
        ? { key, target: 'CREATE' as const, result: 'EQUAL' as const, createRevision: 0 }
        : { key, target: 'MOD' as const, result: 'EQUAL' as const, modRevision: Number(expected) };
    let out;
    try {
      out = await this.client.txn([compare], [{ put: { key, value: JSON.stringify(record) } }], [{ range: { key } }]);
    } catch (err) {
      return { ok: false, code: 'MRD_ERR_API_UNAVAILABLE', detail: `etcd is unreachable (${(err as Error).message})` };
    }
    if (!out.succeeded) {
      return expected === null
        ? { ok: false, code: 'MRD_ERR_API_CONFLICT', detail: 'another node made the keys first' }
        : { ok: false, code: 'MRD_ERR_API_PRECONDITION', detail: 'the keys changed meanwhile (another node); try again' };
    }
    this.#zones.set(key, record.zone);
    return { ok: true };
  }

  async delete(zone: string, expected: string): Promise<CommitResult> {
    const key = this.layout.dnssecKeys(zone);
    let out;
    try {
      out = await this.client.txn([{ key, target: 'MOD', result: 'EQUAL', modRevision: Number(expected) }], [{ delete: { key } }], []);
    } catch (err) {
      return { ok: false, code: 'MRD_ERR_API_UNAVAILABLE', detail: `etcd is unreachable (${(err as Error).message})` };
    }
    if (!out.succeeded) return { ok: false, code: 'MRD_ERR_API_PRECONDITION', detail: 'the keys changed meanwhile (another node); try again' };
    return { ok: true };
  }

  reset(kvs: readonly KeyValue[]): void {
    const present = new Set(kvs.map((kv) => kv.key));
    for (const [key, zone] of [...this.#zones]) {
      if (present.has(key)) continue;
      this.#zones.delete(key);
      this.onChange?.(zone, null);
    }
    for (const kv of kvs) {
      const stored = this.#parse(kv);
      if (stored) this.onChange?.(stored.record.zone, stored);
    }
  }

  event(ev: WatchEvent): void {
    if (ev.type === 'put') {
      const stored = this.#parse({ key: ev.key, value: ev.value, modRevision: ev.modRevision, createRevision: 0, lease: '' });
      if (stored) this.onChange?.(stored.record.zone, stored);
      return;
    }
    const zone = this.#zones.get(ev.key);
    this.#zones.delete(ev.key);
    if (zone !== undefined) this.onChange?.(zone, null);
  }
}
