/**
 * @module state/snapshot
 * The immutable Snapshot that the query path reads: the zones being served, the health state and
 * the run-time tables. A query takes the current snapshot once, at its start, and never sees a
 * mix of old and new data. Writers (state/file-source.ts, cluster/etcd-source.ts) build a new snapshot
 * and swap it in through {@link SnapshotHolder}. What the DNS layer derives from one snapshot (its
 * encoded-answer cache) it keeps itself, keyed by the snapshot (dns/cache.ts `answerCacheOf`), so
 * this layer imports nothing of the DNS layer.
 */
import { Catalog } from '../zone/catalog.js';
import type { Zone } from '../zone/zone.js';
import { HealthState } from '../policy/health-view.js';
import type { LatencyTable } from '../policy/latency-table.js';
import type { GeoDatabase } from '../policy/geoip.js';
import type { LiveTables } from './latency-file.js';
import type { ZoneSigner } from '../dnssec/signer.js';

export interface Snapshot {
  /** Increases by one with every swap. */
  readonly version: number;
  readonly catalog: Catalog;
  /**
   * Endpoint health and operator overrides. Unlike the zones it changes in place (it is the
   * same object in every snapshot); policies read it synchronously, once per decision.
   */
  readonly health: HealthState;
  /** Run-time tables shared by every snapshot (the `--latency` file's table). */
  readonly live: LiveTables;
  /**
   * The DNSSEC signers of zones that have keys, by origin key (state/dnssec.ts keeps them). A
   * zone is signed when it has one and asks for it (its document's `dnssec:`, or the API's
   * enable): {@link signerFor}.
   */
  readonly signers: ReadonlyMap<string, ZoneSigner>;
  readonly createdAt: Date;
}

/** What changed in a {@link SnapshotHolder}: a new snapshot (zones or signers), the health view, the run-time tables. */
export type HolderChange = 'zones' | 'health' | 'live';

/** Holds the current snapshot; `swap` replaces it atomically (a single reference store). */
export class SnapshotHolder {
  #current: Snapshot;
  readonly #listeners = new Set<(s: Snapshot) => void>();
  readonly #changeListeners = new Set<(what: HolderChange) => void>();

  readonly health: HealthState;
  /** The run-time tables every snapshot shares; assigning one (`live.latency = table`) is a change ({@link onChange}). */
  readonly live: LiveTables;

  constructor(zones: Iterable<Zone> = [], health: HealthState = new HealthState()) {
    this.health = health;
    let latency: LatencyTable | null = null;
    let geo: GeoDatabase | null = null;
    const changed = (what: HolderChange): void => {
      for (const fn of this.#changeListeners) fn(what);
    };
    this.live = {
      get latency() {
        return latency;
      },
      set latency(table: LatencyTable | null) {
        latency = table;
        changed('live');
      },
      get geo() {
        return geo;
      },
      set geo(db: GeoDatabase | null) {
        geo = db;
        changed('live');
      },
    };
    health.onChange(() => changed('health'));
    this.#current = { version: 0, catalog: new Catalog(zones), health, live: this.live, signers: new Map(), createdAt: new Date() };
  }

  get current(): Snapshot {
    return this.#current;
  }

  /** Installs a snapshot made of `zones` (and the current signers), and returns it. */
  swap(zones: Iterable<Zone>): Snapshot {
    return this.#install(new Catalog(zones), this.#current.signers, this.#current.version + 1);
  }

  /** Installs a snapshot of the same zones with other DNSSEC signers (keys made, changed or gone). */
  swapSigners(signers: ReadonlyMap<string, ZoneSigner>): Snapshot {
    return this.#install(this.#current.catalog, signers, this.#current.version + 1);
  }

  /**
   * Installs a snapshot at a given version, with new zones and/or signers (null: keep the
   * current ones): how a DNS worker follows its node's numbering (state/replica.ts).
   */
  install(version: number, zones: Iterable<Zone> | null, signers: ReadonlyMap<string, ZoneSigner> | null): Snapshot {
    return this.#install(zones ? new Catalog(zones) : this.#current.catalog, signers ?? this.#current.signers, version);
  }

  #install(catalog: Catalog, signers: ReadonlyMap<string, ZoneSigner>, version: number): Snapshot {
    const next: Snapshot = { version, catalog, health: this.health, live: this.live, signers, createdAt: new Date() };
    this.#current = next;
    for (const fn of this.#listeners) fn(next);
    for (const fn of this.#changeListeners) fn('zones');
    return next;
  }

  onSwap(fn: (s: Snapshot) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /**
   * Calls `fn` after anything a query could see changes: a swap, a health verdict or override,
   * a run-time table. What a node hands its DNS workers follows these (state/replica.ts).
   */
  onChange(fn: (what: HolderChange) => void): () => void {
    this.#changeListeners.add(fn);
    return () => this.#changeListeners.delete(fn);
  }
}

/**
 * The signer of `zone` when the zone is signed: it has keys, and its document asks for signing
 * or signing was enabled through the API (docs/dnssec.md). Undefined: answer unsigned.
 */
export function signerFor(snapshot: Snapshot, zone: Zone): ZoneSigner | undefined {
  const signer = snapshot.signers.get(zone.origin);
  return signer && (zone.dnssec !== null || signer.source === 'api') ? signer : undefined;
}

/**
 * The latency table a zone's latency policies decide with: the zone's own (its `latency:` block),
 * else the node's run-time table (`--latency` file, or etcd in cluster mode); null when neither.
 */
export function latencyFor(snapshot: Snapshot, zone: Zone): LatencyTable | null {
  return zone.policies?.latency ?? snapshot.live.latency;
}

/**
 * What a zone's policies decide with besides the client and the health view (policy/evaluate.ts
 * `decide`'s options): its latency table ({@link latencyFor}) and the geolocation database in
 * force (the `--geoip-db` file's, else null for the embedded geoip-lite).
 */
export function tablesFor(snapshot: Snapshot, zone: Zone): { latency: LatencyTable | null; geo: GeoDatabase | null } {
  return { latency: latencyFor(snapshot, zone), geo: snapshot.live.geo };
}
