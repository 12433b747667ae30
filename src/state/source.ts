/**
 * @module state/source
 * Where the served zones come from. The file source (the zones/ directory, the default) and, in
 * cluster mode, the etcd source (cluster/etcd-source.ts) implement the same interface, so neither
 * the DNS path nor the admin API can tell them apart: both build zones, then swap a new snapshot
 * into the {@link SnapshotHolder}; both take writes as compare-and-swap on a revision.
 * test/support/source-cases.ts is the one case suite both pass.
 */
import type { ZoneError } from '../errors.js';
import type { Zone } from '../zone/zone.js';

/** What a source knows about one of its inputs (a file, or a key in etcd). */
export interface InputStatus {
  /** File path or key. */
  readonly name: string;
  /** The origin of the zone it serves now, if any version of it ever loaded. */
  readonly origin: string | null;
  /** Serial of the version being served. */
  readonly serial: number | null;
  readonly loadedAt: Date | null;
  /** Problems with the newest version (it is not served while these exist). */
  readonly errors: readonly ZoneError[];
}

/** A served zone, where it comes from, and the revision a write must name to replace it. */
export interface ZoneEntry {
  /** File path or etcd key. */
  readonly name: string;
  readonly zone: Zone;
  /** The text it was built from (YAML or master file). */
  readonly text: string;
  readonly kind: 'yaml' | 'master';
  /** Opaque: changes with every stored version (files: a content hash; etcd: the key's mod revision). */
  readonly revision: string;
}

/** Why a store refused a write (docs/errors.md). */
export type CommitRefusal =
  /** The zone is not at the expected revision. */
  | 'MRD_ERR_API_PRECONDITION'
  /** A create, and the zone exists. */
  | 'MRD_ERR_API_CONFLICT'
  /** The store (etcd) is unreachable. */
  | 'MRD_ERR_API_UNAVAILABLE';

/** How a write ended. A refused write changed nothing. */
export type CommitResult = { readonly ok: true } | { readonly ok: false; readonly code: CommitRefusal; readonly detail: string };

export interface Source {
  /** `files` (a zones directory) or `etcd` (cluster mode). */
  readonly kind: 'files' | 'etcd';
  /** Loads everything once and installs the first snapshot. */
  start(): Promise<void>;
  /** Stops watching. */
  stop(): Promise<void>;
  /** The state of each input. */
  status(): readonly InputStatus[];
  /** Called for every load of an input, good or refused (metrics). */
  observeLoad: ((ok: boolean) => void) | undefined;
  /** Every zone served. */
  zones(): Zone[];
  /** The served zone with this origin key. */
  entry(origin: string): ZoneEntry | undefined;
  /**
   * Stores `text` (a zone text of format `kind`, default yaml, that builds to `zone`) as zone
   * `origin`, if the zone is still at revision `expected` (null: it must not exist), and serves
   * it: the new snapshot is in place on this node when the promise resolves, and on every other
   * node of a cluster soon after. A zone keeps its file (or key); a new one gets `<zone>.yaml`
   * or `<zone>.zone` by `kind`.
   */
  put(origin: string, text: string, zone: Zone, expected: string | null, kind?: 'yaml' | 'master'): Promise<CommitResult>;
  /** Deletes zone `origin` if it is still at revision `expected`. */
  delete(origin: string, expected: string): Promise<CommitResult>;
  /** Why writes cannot be stored now (the store is unreachable), or null. */
  writeBlocked(): string | null;
  /**
   * How far this node has read the configuration: the etcd revision of the newest change applied
   * (cluster), or the snapshot version (files). Nodes of a cluster that agree show the same number.
   */
  revision(): number;
}
