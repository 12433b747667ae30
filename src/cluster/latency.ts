/**
 * @module cluster/latency
 * The shared latency table in cluster mode: the key `<prefix>/latency` holds the text of a
 * `--latency` file (docs/policies/latency.md). Every node parses it when it changes; a version
 * that does not parse never replaces the table in force (the error is logged with its line).
 */
import { parseLatencyFile, type LiveTables } from '../state/latency-file.js';
import type { KeyValue, WatchEvent } from './etcd-client.js';
import type { Subscriber } from './etcd-source.js';
import type { Logger } from '../log.js';

export class EtcdLatency implements Subscriber {
  constructor(
    private readonly key: string,
    private readonly live: LiveTables,
    private readonly log: Logger,
  ) {}

  #load(text: string | null): void {
    if (text === null) {
      if (this.live.latency) this.log.info({ key: this.key }, 'latency table removed');
      this.live.latency = null;
      return;
    }
    try {
      this.live.latency = parseLatencyFile(text, this.key);
      this.log.info({ key: this.key }, 'latency table loaded from etcd');
    } catch (err) {
      this.log.error({ key: this.key, err: (err as Error).message }, 'latency table in etcd is invalid; keeping the one in force');
    }
  }

  reset(kvs: readonly KeyValue[]): void {
    const kv = kvs.find((k) => k.key === this.key);
    this.#load(kv ? kv.value : null);
  }

  event(ev: WatchEvent): void {
    if (ev.key !== this.key) return;
    this.#load(ev.type === 'put' ? ev.value : null);
  }
}
