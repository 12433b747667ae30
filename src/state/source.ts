/**
 * @module state/source
 * Where the served zones come from. The file source (the zones/ directory, the default) and, in
 * cluster mode, the etcd source implement the same interface, so the DNS path cannot tell them
 * apart: both build zones, then swap a new snapshot into the {@link SnapshotHolder}.
 */
import type { ZoneError } from '../errors.js';

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

export interface Source {
  /** Loads everything once and installs the first snapshot. */
  start(): Promise<void>;
  /** Stops watching. */
  stop(): Promise<void>;
  /** The state of each input. */
  status(): readonly InputStatus[];
}
