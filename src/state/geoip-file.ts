/**
 * @module state/geoip-file
 * The geolocation database of `meridian serve --geoip-db FILE`: a MaxMind DB file (GeoIP2 or
 * GeoLite2 City or Country, or a DB-IP file of the same format) that the operator keeps fresh.
 * It is read and checked whole (policy/mmdb.ts `openMmdb`), then installed in `live.geo` with a
 * single reference store, so a query sees the old database or the new one, never a mix. The file
 * is watched and re-read when it changes, and on SIGHUP ({@link GeoipFile.reload}); a file that
 * fails the check never replaces the database in force (the reason is logged). Without the
 * option, policies use the embedded geoip-lite (policy/geoip.ts).
 *
 * Update tools (geoipupdate) write a new file and rename it over the old one; a file written in
 * place may be seen half-written, refused, and picked up at the next change.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { openMmdb } from '../policy/mmdb.js';
import type { GeoDatabase } from '../policy/geoip.js';
import type { LiveTables } from './latency-file.js';
import type { Logger } from '../log.js';

function readFile(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new Error(`${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
}

function check(buf: Buffer, file: string): GeoDatabase {
  try {
    return openMmdb(buf, file);
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`);
  }
}

/** Reads and checks a MaxMind DB file (`meridian check --geoip-db`); throws `FILE: reason`. */
export function loadGeoipFile(file: string): GeoDatabase {
  return check(readFile(file), file);
}

/** Loads the file now (throwing if it is bad), then keeps `live.geo` in step with it. */
export class GeoipFile {
  readonly #file: string;
  readonly #live: LiveTables;
  readonly #log: Logger;
  #digest = '';
  #closed = false;

  constructor(file: string, live: LiveTables, log: Logger) {
    this.#file = file;
    this.#live = live;
    this.#log = log;
    this.#read();
    fs.watchFile(file, { interval: 1000 }, (cur, prev) => {
      if (this.#closed || (cur.mtimeMs === prev.mtimeMs && cur.size === prev.size && cur.ino === prev.ino)) return;
      try {
        this.#read();
      } catch (err) {
        this.#log.error({ file: this.#file, err: (err as Error).message }, 'geoip database rejected; keeping the one in force');
      }
    });
  }

  /** The file's path. */
  get file(): string {
    return this.#file;
  }

  /**
   * Re-reads the file now (SIGHUP): `changed` when a new database is in force, `unchanged` when
   * the file is the one in force. Throws (keeping the database in force) when it is unreadable or bad.
   */
  reload(): 'changed' | 'unchanged' {
    return this.#read() ? 'changed' : 'unchanged';
  }

  /** Reads, checks and installs the file; false when it is the one in force. */
  #read(): boolean {
    const buf = readFile(this.#file);
    const digest = createHash('sha256').update(buf).digest('hex');
    if (digest === this.#digest) return false;
    const db = check(buf, this.#file);
    this.#live.geo = db;
    this.#digest = digest;
    this.#log.info({ file: this.#file, type: db.source.type, built_at: db.source.builtAt }, 'geoip database loaded');
    return true;
  }

  close(): void {
    this.#closed = true;
    fs.unwatchFile(this.#file);
  }
}
