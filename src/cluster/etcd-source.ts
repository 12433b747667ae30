/**
 * @module cluster/etcd-source
 * Cluster mode's {@link Source}: the zones live in etcd under `<prefix>/zones/` (cluster/layout.ts).
 * One watch on the whole prefix keeps the node current: zone events rebuild the zone and swap a new
 * immutable snapshot in, and events under other parts of the prefix (overrides, latency, votes,
 * checkers, nodes) go to whoever subscribed to them. The query path never waits for etcd: it reads
 * the snapshot, which only changes here.
 *
 * Like the file source, a key whose text does not load never replaces the last good version of its
 * zone (the error is logged and shown in the zone status), and a zone key must hold the zone it
 * names.
 *
 * Writes are compare-and-swap transactions on the key's mod revision (the revision is the
 * `ZoneEntry.revision`): a write checked against a version that another node replaced meanwhile is
 * refused, never applied on top. A write that succeeds is served here at once; other nodes get it
 * through their watch, and the event for this node's own write is recognised and skipped.
 *
 * If etcd is unreachable the node keeps serving its last snapshot; writes are refused (MRD_ERR_API_UNAVAILABLE, 503); the watch
 * reconnects and resumes by itself, and a node whose first load failed keeps retrying (from
 * 250 ms doubling to 5 s, with jitter; src/backoff.ts).
 */
import { Backoff } from '../backoff.js';
import { zoneError, type ZoneError } from '../errors.js';
import { keyToPresentation } from '../proto/name.js';
import type { Zone } from '../zone/zone.js';
import type { CommitResult, InputStatus, Source, ZoneEntry } from '../state/source.js';
import type { SnapshotHolder } from '../state/snapshot.js';
import { ZoneStore } from '../state/zone-store.js';
import type { EtcdClient, KeyValue, WatchEvent, Watcher } from './etcd-client.js';
import { loadZoneKey, sniffZoneKind, type KeyLayout } from './layout.js';
import type { Logger } from '../log.js';

interface KeyState {
  /** The last version that loaded cleanly, still served. */
  zone: Zone | null;
  text: string;
  kind: 'yaml' | 'master';
  /** Mod revision of the version served. */
  served: number;
  /** Mod revision of the newest version seen (served or refused). */
  seen: number;
  loadedAt: Date | null;
  errors: ZoneError[];
}

/** A part of the prefix that another module keeps (overrides, votes, nodes...). */
export interface Subscriber {
  /** The full contents of the part (first load, or a reload after compaction). */
  reset(kvs: readonly KeyValue[]): void;
  /** One change in the part. */
  event(ev: WatchEvent): void;
}

export interface EtcdSourceOptions {
  readonly client: EtcdClient;
  readonly layout: KeyLayout;
  readonly holder: SnapshotHolder;
  readonly log: Logger;
}

export class EtcdSource implements Source {
  readonly kind = 'etcd' as const;
  readonly #opts: EtcdSourceOptions;
  readonly #keys = new Map<string, KeyState>();
  /** Keys this node deleted, with the revision of the delete (late events for them are ignored). */
  readonly #tombstones = new Map<string, number>();
  readonly #subscribers: { prefix: string; sub: Subscriber }[] = [];
  #watcher: Watcher | null = null;
  #retry: NodeJS.Timeout | null = null;
  #stopped = false;
  /** Highest mod revision applied of anything this node serves from (zones and subscribed parts). */
  #revision = 0;
  #loaded = false;
  observeLoad: ((ok: boolean) => void) | undefined;

  constructor(opts: EtcdSourceOptions) {
    this.#opts = opts;
  }

  /** Routes events of keys under `prefix` (a full key prefix from the layout) to `sub`. */
  subscribe(prefix: string, sub: Subscriber): void {
    this.#subscribers.push({ prefix, sub });
  }

  /** True once the first full load from etcd succeeded. */
  get loaded(): boolean {
    return this.#loaded;
  }

  /**
   * Loads everything and starts watching. If etcd cannot be reached, resolves anyway (the node
   * serves nothing yet and says so on /readyz) and keeps trying with backoff. The retry timer
   * does not hold the process open: the command that runs it does (cli/lifetime.ts).
   */
  async start(): Promise<void> {
    try {
      await this.#firstLoad();
    } catch (err) {
      this.#opts.log.warn({ err: (err as Error).message }, 'cannot load the configuration from etcd; retrying with backoff');
      const backoff = new Backoff(250, 5000);
      const again = (): void => {
        if (this.#stopped) return;
        this.#firstLoad().then(
          () => this.#opts.log.info('configuration loaded from etcd'),
          () => {
            this.#retry = setTimeout(again, backoff.next());
            this.#retry.unref();
          },
        );
      };
      this.#retry = setTimeout(again, backoff.next());
      this.#retry.unref();
    }
  }

  async #firstLoad(): Promise<void> {
    const revision = await this.#reload();
    if (this.#stopped) return;
    this.#loaded = true;
    this.#watcher = this.#opts.client.watch(this.#opts.layout.all, revision + 1, {
      events: (evs) => this.#apply(evs),
      reset: () => this.#reload(),
    });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#retry) clearTimeout(this.#retry);
    this.#watcher?.close();
    this.#watcher = null;
  }

  /** Reads the whole prefix and makes the node's state equal to it; returns the revision read. */
  async #reload(): Promise<number> {
    const { client, layout } = this.#opts;
    const { kvs, revision } = await client.range(layout.all, { prefix: true });
    let changed = false;
    const zoneKeys = new Set<string>();
    for (const kv of kvs) {
      if (!kv.key.startsWith(layout.zones)) continue;
      zoneKeys.add(kv.key);
      const st = this.#keys.get(kv.key);
      if (st && st.seen === kv.modRevision) continue;
      changed = this.#load(kv.key, kv.value, kv.modRevision) || changed;
    }
    for (const key of [...this.#keys.keys()]) {
      if (zoneKeys.has(key)) continue;
      changed = this.#drop(key) || changed;
    }
    for (const kv of kvs) if (this.#tracked(kv.key)) this.#revision = Math.max(this.#revision, kv.modRevision);
    // Zones first: the vote store judges only endpoints the served zones define.
    if (changed || !this.#loaded) this.#swap();
    for (const { prefix, sub } of this.#subscribers) sub.reset(kvs.filter((kv) => kv.key.startsWith(prefix)));
    return revision;
  }

  /** Whether a key counts towards the configuration revision (not votes, leaders or members). */
  #tracked(key: string): boolean {
    const { layout } = this.#opts;
    return key.startsWith(layout.zones) || key.startsWith(layout.overrides) || key === layout.latency;
  }

  #apply(events: readonly WatchEvent[]): void {
    const { layout } = this.#opts;
    let changed = false;
    for (const ev of events) {
      if (this.#tracked(ev.key)) this.#revision = Math.max(this.#revision, ev.modRevision);
      if (ev.key.startsWith(layout.zones)) {
        const st = this.#keys.get(ev.key);
        // This node's own write, applied when it was made; or older than a delete made here.
        if (st && ev.type === 'put' && ev.modRevision <= st.seen) continue;
        const gone = this.#tombstones.get(ev.key);
        if (gone !== undefined && ev.modRevision <= gone) continue;
        changed = (ev.type === 'put' ? this.#load(ev.key, ev.value, ev.modRevision) : this.#drop(ev.key)) || changed;
        continue;
      }
      for (const { prefix, sub } of this.#subscribers) if (ev.key.startsWith(prefix)) sub.event(ev);
    }
    if (changed) this.#swap();
  }

  /** Loads a zone key's text; returns true if what is served changed. */
  #load(key: string, text: string, modRevision: number): boolean {
    const { log, layout } = this.#opts;
    const name = key.slice(layout.zones.length);
    const kind = sniffZoneKind(text);
    const st: KeyState = this.#keys.get(key) ?? { zone: null, text: '', kind, served: 0, seen: 0, loadedAt: null, errors: [] };
    this.#keys.set(key, st);
    st.seen = modRevision;
    const result = loadZoneKey(key, text);
    let errors: ZoneError[] = result.ok ? [] : result.errors;
    const origin = ZoneStore.originOf(name);
    if (result.ok && origin !== result.zone.origin)
      errors = [zoneError('MRD_ERR_ZONE_KEY', { file: key, line: 0 }, [name, keyToPresentation(result.zone.origin)])];
    if (errors.length > 0 || !result.ok) {
      st.errors = errors;
      for (const e of errors) log.error({ key, line: e.line, code: e.code, record: e.record }, e.message);
      if (st.zone) log.warn({ key, zone: st.zone.origin, serial: st.zone.serial }, 'zone key invalid; still serving its last good version');
      this.observeLoad?.(false);
      return false;
    }
    const zone = result.zone;
    for (const w of zone.warnings) log.warn({ key, line: w.line, code: w.code }, w.format());
    st.zone = zone;
    st.text = text;
    st.kind = kind;
    st.served = modRevision;
    st.errors = [];
    st.loadedAt = new Date();
    this.observeLoad?.(true);
    log.info({ key, zone: zone.origin, serial: zone.serial, revision: modRevision, records: zone.recordCount }, 'zone loaded from etcd');
    return true;
  }

  #drop(key: string): boolean {
    const st = this.#keys.get(key);
    this.#keys.delete(key);
    if (!st?.zone) return false;
    this.#opts.log.info({ key, zone: st.zone.origin }, 'zone key deleted; zone no longer served');
    return true;
  }

  #swap(): void {
    const zones = this.zones();
    const snap = this.#opts.holder.swap(zones);
    this.#opts.log.info({ version: snap.version, zones: zones.length, revision: this.#revision }, 'snapshot swapped');
  }

  status(): InputStatus[] {
    return [...this.#keys.entries()].map(([name, st]) => ({
      name,
      origin: st.zone?.origin ?? null,
      serial: st.zone?.serial ?? null,
      loadedAt: st.loadedAt,
      errors: st.errors,
    }));
  }

  zones(): Zone[] {
    return [...this.#keys.values()].flatMap((st) => (st.zone ? [st.zone] : []));
  }

  entry(origin: string): ZoneEntry | undefined {
    const key = this.#opts.layout.zone(origin);
    const st = this.#keys.get(key);
    if (!st?.zone || st.zone.origin !== origin) return undefined;
    return { name: key, zone: st.zone, text: st.text, kind: st.kind, revision: String(st.served) };
  }

  async put(origin: string, text: string, zone: Zone, expected: string | null, kind: 'yaml' | 'master' = 'yaml'): Promise<CommitResult> {
    const key = this.#opts.layout.zone(origin);
    if (expected !== null && !/^\d+$/.test(expected))
      return { ok: false, code: 'MRD_ERR_API_PRECONDITION', detail: `"${expected}" is not a revision of zone ${keyToPresentation(origin)}` };
    // A key that exists but never loaded (its text is broken) counts as existing.
    const compare =
      expected === null
        ? { key, target: 'CREATE' as const, result: 'EQUAL' as const, createRevision: 0 }
        : { key, target: 'MOD' as const, result: 'EQUAL' as const, modRevision: Number(expected) };
    let out;
    try {
      out = await this.#opts.client.txn([compare], [{ put: { key, value: text } }], [{ range: { key } }]);
    } catch (err) {
      return { ok: false, code: 'MRD_ERR_API_UNAVAILABLE', detail: `etcd is unreachable (${(err as Error).message})` };
    }
    if (!out.succeeded) {
      const now = out.kvs[0];
      return expected === null
        ? { ok: false, code: 'MRD_ERR_API_CONFLICT', detail: `zone ${keyToPresentation(origin)} already exists in etcd (revision ${now?.modRevision ?? '?'})` }
        : {
            ok: false,
            code: 'MRD_ERR_API_PRECONDITION',
            detail: `zone ${keyToPresentation(origin)} is at revision ${now?.modRevision ?? '(deleted)'} in etcd, not ${expected}`,
          };
    }
    // Serve it here at once; the watch event for this revision is then skipped.
    const st: KeyState = this.#keys.get(key) ?? { zone: null, text: '', kind: 'yaml', served: 0, seen: 0, loadedAt: null, errors: [] };
    Object.assign(st, { zone, text, kind, served: out.revision, seen: out.revision, loadedAt: new Date(), errors: [] });
    this.#keys.set(key, st);
    this.#tombstones.delete(key);
    this.#revision = Math.max(this.#revision, out.revision);
    this.#opts.log.info({ key, zone: zone.origin, serial: zone.serial, revision: out.revision }, 'zone written to etcd');
    this.#swap();
    return { ok: true };
  }

  async delete(origin: string, expected: string): Promise<CommitResult> {
    const key = this.#opts.layout.zone(origin);
    if (!/^\d+$/.test(expected))
      return { ok: false, code: 'MRD_ERR_API_PRECONDITION', detail: `"${expected}" is not a revision of zone ${keyToPresentation(origin)}` };
    let out;
    try {
      out = await this.#opts.client.txn([{ key, target: 'MOD', result: 'EQUAL', modRevision: Number(expected) }], [{ delete: { key } }], [{ range: { key } }]);
    } catch (err) {
      return { ok: false, code: 'MRD_ERR_API_UNAVAILABLE', detail: `etcd is unreachable (${(err as Error).message})` };
    }
    if (!out.succeeded)
      return {
        ok: false,
        code: 'MRD_ERR_API_PRECONDITION',
        detail: `zone ${keyToPresentation(origin)} is at revision ${out.kvs[0]?.modRevision ?? '(deleted)'} in etcd, not ${expected}`,
      };
    this.#tombstones.set(key, out.revision);
    this.#revision = Math.max(this.#revision, out.revision);
    this.#drop(key);
    this.#swap();
    return { ok: true };
  }

  writeBlocked(): string | null {
    return this.#opts.client.reachable ? null : 'etcd is unreachable';
  }

  revision(): number {
    return this.#revision;
  }

  /** Called by modules that write a tracked key themselves (overrides), so the revision moves. */
  noteRevision(revision: number): void {
    this.#revision = Math.max(this.#revision, revision);
  }
}
