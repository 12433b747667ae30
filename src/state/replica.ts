/**
 * @module state/replica
 * What a DNS worker (node/dns-worker.ts) is given by its node so that it answers exactly as the
 * node's own snapshot would. {@link ReplicaUpdate} is the one list of it:
 *
 *   zones     every zone served, in order, at the node's snapshot version; a zone the workers do
 *             not hold yet comes with its text and file name, and the worker builds it again with
 *             the same code (zone/load.ts), so it is the same zone, policies and checks compiled
 *             alike
 *   signers   the DNSSEC signers (state/dnssec.ts): each signed zone's key record, with the key
 *             states the node decided, so the worker signs with the same keys in the same roles
 *   health    every health verdict and override, reported weight and probe RTT
 *             (policy/health-view.ts `exportState`)
 *   latency   the run-time latency table (`--latency` file or etcd), as its rows
 *   geo       the `--geoip-db` database, as the file's octets (policy/mmdb.ts opens them again)
 *   cookieSecret  the DNS cookie secret (dns/cookie-secrets.ts), so every worker's server cookies
 *             validate on every other worker and node
 *
 * The node side is {@link ReplicaFeed}: it follows the SnapshotHolder (`onChange`) and says what
 * changed since it last said; the worker side is {@link ReplicaHolder}, which applies an update to
 * a SnapshotHolder of its own in one synchronous step, so no query sees half of one.
 *
 * To hand workers something new (a zone's DNSSEC keys, another run-time table): add a field to
 * ReplicaUpdate, fill it in ReplicaFeed `#collect` when it changed (compare with what was sent),
 * and apply it in ReplicaHolder `apply`. The IPC, the restarts and the barrier that holds an
 * API write until every worker serves it (node/workers.ts) do not change.
 */
import { LatencyTable, type LatencyRowSpec } from '../policy/latency-table.js';
import { mmdbInput, openMmdb } from '../policy/mmdb.js';
import type { GeoDatabase } from '../policy/geoip.js';
import { ZoneSigner } from '../dnssec/signer.js';
import { signingKeys, type KeyRecord, type KeyState } from '../dnssec/keys.js';
import { signerRecord } from './dnssec.js';
import type { HealthStateDump } from '../policy/health-view.js';
import { loadZoneText, zoneInput } from '../zone/load.js';
import type { Zone } from '../zone/zone.js';
import { createError } from '../errors.js';
import { keyToPresentation } from '../proto/name.js';
import { SnapshotHolder } from './snapshot.js';

/** The DNS cookie secret's state, as dns/cookie-secrets.ts keeps it (plain JSON). */
export interface ReplicaCookieSecret {
  readonly current: string;
  readonly next: string;
  readonly previous: string | null;
  readonly rotated_at: number;
}

/** One zone of a snapshot: an id, and what to build it from when the worker does not hold it. */
export interface ReplicaZone {
  readonly id: number;
  readonly source?: { readonly text: string; readonly file: string };
}

/** What changed (or, for a worker that starts, everything). Each field is absent when unchanged. */
export interface ReplicaUpdate {
  /** The snapshot: its version and every zone in it, in order. */
  readonly zones?: { readonly version: number; readonly list: readonly ReplicaZone[] };
  /** Every health verdict and override. */
  readonly health?: HealthStateDump;
  /** The DNSSEC signers, all of them: per zone, its key record and the state of each key (by tag). */
  readonly signers?: readonly ReplicaSigner[];
  /** The run-time latency table's rows; null: none. */
  readonly latency?: readonly LatencyRowSpec[] | null;
  /** The `--geoip-db` database's file name and octets; null: the embedded geoip-lite. */
  readonly geo?: { readonly file: string; readonly bytes: Buffer } | null;
  /** The DNS cookie secret (dns/cookie-secrets.ts), so a worker's server cookies are the node's (RFC 9018 §3). */
  readonly cookieSecret?: ReplicaCookieSecret;
}

/** One zone's signer as a worker rebuilds it. */
export interface ReplicaSigner {
  readonly zone: string;
  readonly record: KeyRecord;
  readonly states: readonly (readonly [number, KeyState])[];
}

/**
 * The node side: turns what a SnapshotHolder holds into updates. {@link next} is what every
 * worker gets after a change; {@link full} is everything, for a worker that starts.
 */
export class ReplicaFeed {
  readonly #holder: SnapshotHolder;
  readonly #ids = new WeakMap<Zone, number>();
  #nextId = 1;
  /** Ids of the zones every running worker holds (those of the last update sent). */
  #held = new Set<number>();
  #sentVersion = -1;
  #sentHealth = '';
  #sentLatency: LatencyTable | null | undefined = undefined;
  #sentSigners: ReadonlyMap<string, ZoneSigner> | undefined = undefined;
  #sentGeo: GeoDatabase | null | undefined = undefined;

  readonly #cookieSecret: (() => ReplicaCookieSecret) | undefined;
  #sentCookieSecret = '';

  /** `cookieSecret`: where the node's DNS cookie secret is read (it changes at each rotation). */
  constructor(holder: SnapshotHolder, opts: { cookieSecret?: () => ReplicaCookieSecret } = {}) {
    this.#holder = holder;
    this.#cookieSecret = opts.cookieSecret;
  }

  #id(zone: Zone): number {
    let id = this.#ids.get(zone);
    if (id === undefined) this.#ids.set(zone, (id = this.#nextId++));
    return id;
  }

  /** A zone of the snapshot; with its source unless every worker holds it already. */
  #zone(zone: Zone, withSource: boolean): ReplicaZone {
    const id = this.#id(zone);
    if (!withSource) return { id };
    const input = zoneInput(zone);
    // Zones reach a snapshot through zone/load.ts (files, etcd, the API): one that did not is a bug.
    if (!input) throw createError('MRD_ERR_INTERNAL', `zone ${keyToPresentation(zone.origin)} was not built from a text, so no DNS worker can build it`);
    return { id, source: input };
  }

  /** What changed since the last call, or null when nothing did. */
  next(): ReplicaUpdate | null {
    const snap = this.#holder.current;
    const update: { -readonly [K in keyof ReplicaUpdate]: ReplicaUpdate[K] } = {};
    if (snap.version !== this.#sentVersion) {
      const list = [...snap.catalog.zones].map((z) => this.#zone(z, !this.#held.has(this.#id(z))));
      update.zones = { version: snap.version, list };
      this.#held = new Set(list.map((z) => z.id));
      this.#sentVersion = snap.version;
    }
    if (snap.signers !== this.#sentSigners) {
      update.signers = signersOf(snap.signers);
      this.#sentSigners = snap.signers;
    }
    const geo = this.#holder.live.geo;
    if (geo !== this.#sentGeo) {
      update.geo = geoOf(geo);
      this.#sentGeo = geo;
    }
    const health = snap.health.exportState();
    const healthText = JSON.stringify(health);
    if (healthText !== this.#sentHealth) {
      update.health = health;
      this.#sentHealth = healthText;
    }
    const latency = this.#holder.live.latency;
    if (latency !== this.#sentLatency) {
      update.latency = latency ? latency.rows : null;
      this.#sentLatency = latency;
    }
    const secret = this.#cookieSecret?.();
    if (secret) {
      const text = JSON.stringify(secret);
      if (text !== this.#sentCookieSecret) {
        update.cookieSecret = secret;
        this.#sentCookieSecret = text;
      }
    }
    return Object.keys(update).length > 0 ? update : null;
  }

  /**
   * Everything, as of the last {@link next} (call that first, so a starting worker and the running
   * ones hold the same): the zones with their sources, the health state, the latency table.
   */
  full(): ReplicaUpdate {
    const snap = this.#holder.current;
    return {
      zones: { version: snap.version, list: [...snap.catalog.zones].map((z) => this.#zone(z, true)) },
      signers: signersOf(snap.signers),
      health: snap.health.exportState(),
      latency: this.#holder.live.latency?.rows ?? null,
      geo: geoOf(this.#holder.live.geo),
      ...(this.#cookieSecret ? { cookieSecret: this.#cookieSecret() } : {}),
    };
  }
}

function signersOf(signers: ReadonlyMap<string, ZoneSigner>): ReplicaSigner[] {
  return [...signers].map(([zone, signer]) => {
    const record = signerRecord(signer);
    if (!record)
      throw createError('MRD_ERR_INTERNAL', `the signer of ${keyToPresentation(zone)} was not built from a key record, so no DNS worker can build it`);
    return { zone, record, states: signer.published.map((k) => [k.tag, k.state] as const) };
  });
}

function geoOf(db: GeoDatabase | null): { file: string; bytes: Buffer } | null {
  if (!db) return null;
  const input = mmdbInput(db);
  if (!input) throw createError('MRD_ERR_INTERNAL', 'the geoip database was not opened from a file, so no DNS worker can open it');
  return { file: input.file, bytes: input.bytes };
}

/** The worker side: a SnapshotHolder kept equal to the node's by {@link apply}. */
export class ReplicaHolder {
  readonly holder = new SnapshotHolder();
  #zones = new Map<number, Zone>();
  /** The node's DNS cookie secret, as last sent; the worker's cookie jar reads it (node/dns-worker.ts). */
  cookieSecret: ReplicaCookieSecret | null = null;
  /** Called when an update brings a new cookie secret. */
  onCookieSecret: ((secret: ReplicaCookieSecret) => void) | undefined;

  /**
   * Applies an update, all of it before any query runs again (it is synchronous). Throws
   * MRD_ERR_INTERNAL when a zone cannot be built (it did build on the node, so that is a bug) and
   * changes nothing then.
   */
  apply(update: ReplicaUpdate): void {
    let zones: { version: number; map: Map<number, Zone>; list: Zone[] } | null = null;
    if (update.zones) {
      const map = new Map<number, Zone>();
      const list: Zone[] = [];
      for (const z of update.zones.list) {
        let zone = this.#zones.get(z.id);
        if (!zone) {
          if (!z.source) throw createError('MRD_ERR_INTERNAL', `update names zone #${z.id}, which this worker was never sent`);
          const built = loadZoneText(z.source.text, z.source.file);
          if (!built.ok)
            throw createError('MRD_ERR_INTERNAL', `${z.source.file} does not build in the DNS worker: ${built.errors[0]?.format() ?? 'unknown error'}`);
          zone = built.zone;
        }
        map.set(z.id, zone);
        list.push(zone);
      }
      zones = { version: update.zones.version, map, list };
    }
    const latency = update.latency === undefined ? undefined : update.latency === null ? null : new LatencyTable(update.latency);
    const geo = update.geo === undefined ? undefined : update.geo === null ? null : openMmdb(Buffer.from(update.geo.bytes), update.geo.file);
    let signers: Map<string, ZoneSigner> | null = null;
    if (update.signers) {
      signers = new Map();
      for (const s of update.signers) {
        const keys = signingKeys(s.record, new Date(), new Map(s.states));
        const signer = new ZoneSigner(s.zone, keys, s.record.enabled ? 'api' : 'document', s.record.dnskeyTtlSeconds);
        signers.set(s.zone, signer);
      }
    }
    if (update.health) this.holder.health.importState(update.health);
    if (update.cookieSecret) {
      this.cookieSecret = update.cookieSecret;
      this.onCookieSecret?.(update.cookieSecret);
    }
    if (latency !== undefined) this.holder.live.latency = latency;
    if (geo !== undefined) this.holder.live.geo = geo;
    if (zones || signers) {
      if (zones) this.#zones = zones.map;
      this.holder.install(zones?.version ?? update.zones?.version ?? this.holder.current.version + 1, zones?.list ?? null, signers);
    }
  }
}
