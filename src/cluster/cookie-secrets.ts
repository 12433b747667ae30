/**
 * @module cluster/cookie-secrets
 * The DNS cookie secret of a cluster (dns/cookie-secrets.ts), shared through etcd so that a
 * client's server cookie validates on every node its queries reach (RFC 9018 §1: an anycast set
 * of servers must share the secret). The key `<prefix>/cookie-secret` holds the JSON state
 * (current, next and previous secret, and when it last rotated).
 *
 * Every node watches the key and swaps the new state into its {@link CookieSecrets}. The first
 * node that finds no key creates it (a transaction that succeeds only if the key does not exist);
 * once a day the first node to notice a rotation is due writes the rotated state, with a
 * compare-and-swap on the revision it read, so two nodes never rotate twice. Until the key is
 * read (etcd unreachable at start) a node makes cookies with a secret of its own, and clients just
 * learn another cookie once the shared one arrives. Anyone who can read the key can forge cookies
 * for the cluster: protect etcd as you protect zones (TLS, auth; docs/operations.md).
 */
import type { EtcdClient, KeyValue, WatchEvent } from './etcd-client.js';
import type { Subscriber } from './etcd-source.js';
import { freshSecretState, parseSecretState, rotatedSecretState, rotationDue, type CookieSecretState, type CookieSecrets } from '../dns/cookie-secrets.js';
import type { Logger } from '../log.js';

export class EtcdCookieSecrets implements Subscriber {
  #modRevision = 0;
  #shared = false;
  #timer: NodeJS.Timeout | null = null;
  #writing = false;

  constructor(
    private readonly client: EtcdClient,
    private readonly key: string,
    readonly secrets: CookieSecrets,
    private readonly log: Logger,
    private readonly now: () => number = () => Math.floor(Date.now() / 1000),
  ) {}

  /** True once the cluster's secret is in use here. */
  get shared(): boolean {
    return this.#shared;
  }

  reset(kvs: readonly KeyValue[]): void {
    const kv = kvs.find((k) => k.key === this.key);
    if (!kv) {
      this.#modRevision = 0;
      void this.#create();
      return;
    }
    this.#load(kv.value, kv.modRevision);
  }

  event(ev: WatchEvent): void {
    if (ev.key !== this.key) return;
    if (ev.type === 'delete') {
      this.#modRevision = 0;
      void this.#create();
      return;
    }
    this.#load(ev.value, ev.modRevision);
  }

  #load(text: string, modRevision: number): void {
    try {
      const state = parseSecretState(text);
      const rotated = this.#shared && state.current !== this.secrets.state.current;
      this.secrets.set(state);
      this.#modRevision = modRevision;
      if (!this.#shared) this.log.info({ key: this.key }, 'cookie secret shared through etcd');
      else if (rotated) this.log.info({ key: this.key }, 'cookie secret rotated');
      this.#shared = true;
    } catch (err) {
      this.log.error({ key: this.key, err: (err as Error).message }, 'cookie secret in etcd is invalid; keeping the one in force');
    }
  }

  /** Creates the key when no node has; the watch brings the state back to every node, this one too. */
  async #create(): Promise<void> {
    await this.#write(freshSecretState(this.now()), 0);
  }

  /** Rotates when a day has passed since the last rotation (any node may; one wins the compare-and-swap). */
  async rotateIfDue(): Promise<boolean> {
    if (!this.#shared || this.#modRevision === 0) return false;
    const state = this.secrets.state;
    if (!rotationDue(state, this.now())) return false;
    return this.#write(rotatedSecretState(state, this.now()), this.#modRevision);
  }

  async #write(state: CookieSecretState, expectMod: number): Promise<boolean> {
    if (this.#writing) return false;
    this.#writing = true;
    try {
      const compare =
        expectMod === 0
          ? { key: this.key, target: 'CREATE' as const, result: 'EQUAL' as const, createRevision: 0 }
          : { key: this.key, target: 'MOD' as const, result: 'EQUAL' as const, modRevision: expectMod };
      const r = await this.client.txn([compare], [{ put: { key: this.key, value: JSON.stringify(state) } }]);
      return r.succeeded;
    } catch (err) {
      // etcd away: the secret in force stays; the next check (or the watch's reset) tries again.
      this.log.warn({ key: this.key, err: (err as Error).message }, 'cannot write the cookie secret to etcd');
      return false;
    } finally {
      this.#writing = false;
    }
  }

  /** Checks once a minute whether a rotation is due. */
  start(): void {
    this.#timer = setInterval(() => void this.rotateIfDue(), 60_000);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
}
