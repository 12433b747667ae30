/**
 * @module state/file-source
 * The zones/ directory as a {@link Source}: every `*.zone`, `*.yaml` and `*.yml` file is a zone.
 * Files are reloaded when they change on disk (fs.watch, with a periodic scan as a safety net).
 * A file that fails to load never replaces the last good version of its zone: the old zone keeps
 * serving, and the error is logged with file and line. A zone defined by two files is served
 * from the one that loaded first; the other is reported as a duplicate.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { zoneError, type ZoneError } from '../errors.js';
import { loadZoneText, zoneFileKind } from '../zone/load.js';
import type { Zone } from '../zone/zone.js';
import { createHash } from 'node:crypto';
import { keyToPresentation } from '../proto/name.js';
import type { CommitResult, InputStatus, Source, ZoneEntry } from './source.js';
import type { SnapshotHolder } from './snapshot.js';
import { writeFileAtomic } from './atomic.js';

interface FileState {
  /** The last version that loaded cleanly, still served. */
  zone: Zone | null;
  loadedAt: Date | null;
  errors: ZoneError[];
  /** mtime and size of the version last read, to skip unchanged files on a scan. */
  stamp: string;
  /** The text of the version served. */
  text: string;
  /** Bumped by every in-process write, so a scan that read the file before it does not win. */
  generation: number;
}

/** A served zone and the file it comes from. */
export interface ZoneFile {
  readonly file: string;
  readonly zone: Zone;
  readonly text: string;
}

export interface FileSourceOptions {
  readonly dir: string;
  readonly holder: SnapshotHolder;
  readonly log: Logger;
  /** Watch the directory for changes (default true). */
  readonly watch?: boolean;
  /** Full rescan period; catches changes a watcher missed (default 2000 ms). */
  readonly scanIntervalMs?: number;
}

/** Called for every zone file load, good or refused (metrics). */
export type LoadObserver = (ok: boolean) => void;

/** A file's revision: a hash of its text (what `put` compares). */
function revisionOf(text: string): string {
  return createHash('sha1').update(text).digest('hex').slice(0, 16);
}

export class FileSource implements Source {
  readonly kind = 'files' as const;
  readonly #opts: FileSourceOptions;
  readonly #files = new Map<string, FileState>();
  #watcher: fs.FSWatcher | null = null;
  #timer: NodeJS.Timeout | null = null;
  #debounce: NodeJS.Timeout | null = null;
  #scanning: Promise<void> | null = null;
  #rescan = false;
  /** The last scan's failure (the directory is gone or unreadable), logged once until it recovers. */
  #scanError: string | null = null;
  observeLoad: LoadObserver | undefined;

  constructor(opts: FileSourceOptions) {
    this.#opts = opts;
  }

  async start(): Promise<void> {
    await this.scan();
    if (this.#opts.watch === false) return;
    try {
      this.#watcher = fs.watch(this.#opts.dir, () => this.#schedule());
      this.#watcher.on('error', (err) => this.#opts.log.warn({ err }, 'zone directory watch failed; relying on periodic scans'));
    } catch (err) {
      this.#opts.log.warn({ err }, 'zone directory watch failed; relying on periodic scans');
    }
    this.#timer = setInterval(() => void this.scan(), this.#opts.scanIntervalMs ?? 2_000);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    this.#watcher?.close();
    if (this.#timer) clearInterval(this.#timer);
    if (this.#debounce) clearTimeout(this.#debounce);
    this.#watcher = null;
    this.#timer = null;
    await this.#scanning;
  }

  status(): InputStatus[] {
    return [...this.#files.entries()].map(([name, st]) => ({
      name,
      origin: st.zone?.origin ?? null,
      serial: st.zone?.serial ?? null,
      loadedAt: st.loadedAt,
      errors: st.errors,
    }));
  }

  #schedule(): void {
    // Editors write in bursts (truncate, write, rename); act once it settles.
    if (this.#debounce) clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => void this.scan(), 100);
    this.#debounce.unref();
  }

  /** Reads every changed file and swaps in a new snapshot if anything served changed. */
  scan(): Promise<void> {
    if (this.#scanning) {
      this.#rescan = true;
      return this.#scanning;
    }
    this.#scanning = this.#scanOnce()
      .then(
        () => {
          if (this.#scanError !== null) this.#opts.log.info({ dir: this.#opts.dir }, 'zone directory readable again');
          this.#scanError = null;
        },
        (err: Error) => {
          // A directory that vanished fails every scan: say so once, not every 2 s.
          const message = `${this.#opts.dir}: ${(err as NodeJS.ErrnoException).code ?? err.message}`;
          if (message !== this.#scanError) this.#opts.log.error({ dir: this.#opts.dir, err: err.message }, 'zone scan failed; serving the zones loaded before');
          this.#scanError = message;
        },
      )
      .finally(() => {
        this.#scanning = null;
        if (this.#rescan) {
          this.#rescan = false;
          void this.scan();
        }
      });
    return this.#scanning;
  }

  /** Why the last scan of the directory failed, or null. */
  get scanError(): string | null {
    return this.#scanError;
  }

  /**
   * A scan that starts after this call (SIGHUP): waits for one in flight, which may have read the
   * directory before the change the caller wants seen, then scans again.
   */
  async rescan(): Promise<void> {
    await this.#scanning;
    await this.scan();
  }

  async #scanOnce(): Promise<void> {
    const { dir, log } = this.#opts;
    const names = (await fsp.readdir(dir)).filter((n) => zoneFileKind(n) !== null).sort();
    const present = new Set(names.map((n) => path.join(dir, n)));
    let changed = false;

    for (const file of [...this.#files.keys()]) {
      // A file the API wrote (commit) while readdir ran is not in its list but is there: keep it.
      if (!present.has(file) && !fs.existsSync(file)) {
        const gone = this.#files.get(file)!;
        this.#files.delete(file);
        if (gone.zone) {
          changed = true;
          log.info({ file, zone: gone.zone.origin }, 'zone file removed; zone no longer served');
        }
      }
    }

    for (const file of present) {
      let stat: fs.Stats;
      let text: string;
      try {
        stat = await fsp.stat(file);
        const stamp = `${stat.mtimeMs}:${stat.size}:${stat.ino}`;
        if (this.#files.get(file)?.stamp === stamp) continue;
        const generation = this.#files.get(file)?.generation ?? 0;
        text = await fsp.readFile(file, 'utf8');
        const prev = this.#files.get(file);
        // An in-process write (commit) happened while this scan read the file: it has the newer text.
        if ((prev?.generation ?? 0) !== generation) continue;
        if (prev && prev.text === text && prev.zone) {
          prev.stamp = stamp;
          continue;
        }
        const state: FileState = prev ?? { zone: null, loadedAt: null, errors: [], stamp: '', text: '', generation: 0 };
        state.stamp = stamp;
        this.#files.set(file, state);
        const result = loadZoneText(text, file);
        if (!result.ok) {
          state.errors = result.errors;
          for (const e of result.errors) log.error({ file: e.file, line: e.line, code: e.code, record: e.record }, e.message);
          if (state.zone) log.warn({ file, zone: state.zone.origin, serial: state.zone.serial }, 'zone file invalid; still serving its last good version');
          this.observeLoad?.(false);
          continue;
        }
        const zone = result.zone;
        const owner = this.#ownerOf(zone.origin);
        if (owner && owner !== file) {
          const e = zoneError('MRD_ERR_ZONE_DUPLICATE', { file, line: 0 }, [zone.origin, owner]);
          state.errors = [e];
          log.error({ file, code: e.code }, e.message);
          continue;
        }
        for (const w of zone.warnings) log.warn({ file, line: w.line, code: w.code }, w.format());
        state.zone = zone;
        state.text = text;
        state.errors = [];
        state.loadedAt = new Date();
        changed = true;
        this.observeLoad?.(true);
        log.info({ file, zone: zone.origin, serial: zone.serial, records: zone.recordCount, policies: zone.policies?.records.length ?? 0 }, 'zone loaded');
      } catch (err) {
        // Listed, then removed (an API delete, or an editor) before it was read: not an error.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !fs.existsSync(file)) continue;
        const e = zoneError('MRD_ERR_ZONE_READ', { file, line: 0 }, [(err as Error).message]);
        const state = this.#files.get(file) ?? { zone: null, loadedAt: null, errors: [], stamp: '', text: '', generation: 0 };
        state.errors = [e];
        this.#files.set(file, state);
        log.error({ file, err }, 'cannot read zone file');
      }
    }

    if (changed) this.#swap();
  }

  #swap(): void {
    const zones = [...this.#files.values()].flatMap((s) => (s.zone ? [s.zone] : []));
    const snap = this.#opts.holder.swap(zones);
    this.#opts.log.info({ version: snap.version, zones: zones.length }, 'snapshot swapped');
  }

  /** The served zone with this origin, its file and text. */
  zoneFile(origin: string): ZoneFile | undefined {
    for (const [file, st] of this.#files) if (st.zone?.origin === origin) return { file, zone: st.zone, text: st.text };
    return undefined;
  }

  entry(origin: string): ZoneEntry | undefined {
    const zf = this.zoneFile(origin);
    if (!zf) return undefined;
    return { name: zf.file, zone: zf.zone, text: zf.text, kind: zoneFileKind(path.basename(zf.file)) ?? 'yaml', revision: revisionOf(zf.text) };
  }

  /**
   * Writes the zone into the file that serves it now (a master file stays a master file, a
   * YAML file stays YAML; zone-store.ts gives text of the matching format), or a new zone as
   * `<zone>.yaml` / `<zone>.zone` by `kind`. The compare and the write run without yielding, so
   * nothing interleaves.
   */
  put(origin: string, text: string, zone: Zone, expected: string | null, kind: 'yaml' | 'master' = 'yaml'): Promise<CommitResult> {
    const current = this.entry(origin);
    const refused = this.#compare(origin, current, expected);
    if (refused) return Promise.resolve(refused);
    if (current && current.kind !== kind)
      return Promise.resolve({
        ok: false,
        code: 'MRD_ERR_API_PRECONDITION',
        detail: `zone ${keyToPresentation(origin)} is kept in ${path.basename(current.name)}, not as ${kind}`,
      });
    const file =
      current?.name ?? path.join(this.#opts.dir, `${keyToPresentation(origin).replace(/\.$/, '') || 'root'}${kind === 'master' ? '.zone' : '.yaml'}`);
    this.commit(file, text, zone);
    return Promise.resolve({ ok: true });
  }

  delete(origin: string, expected: string): Promise<CommitResult> {
    const current = this.entry(origin);
    const refused = this.#compare(origin, current, expected);
    if (refused) return Promise.resolve(refused);
    this.commit(current!.name, '', null, [current!.name]);
    return Promise.resolve({ ok: true });
  }

  #compare(origin: string, current: ZoneEntry | undefined, expected: string | null): CommitResult | null {
    if (expected === null && current)
      return { ok: false, code: 'MRD_ERR_API_CONFLICT', detail: `zone ${keyToPresentation(origin)} already exists (${path.basename(current.name)})` };
    if (expected !== null && current?.revision !== expected)
      return { ok: false, code: 'MRD_ERR_API_PRECONDITION', detail: `zone ${keyToPresentation(origin)} changed since revision ${expected}` };
    return null;
  }

  writeBlocked(): string | null {
    return null;
  }

  revision(): number {
    return this.#opts.holder.current.version;
  }

  /** Every zone served from this directory. */
  zones(): Zone[] {
    return [...this.#files.values()].flatMap((st) => (st.zone ? [st.zone] : []));
  }

  get dir(): string {
    return this.#opts.dir;
  }

  /**
   * Writes a zone file atomically (temp file, fsync, rename) and serves it at once, without
   * waiting for the watcher: the new snapshot is in place when this returns. `zone` must be
   * what `text` builds to. Files in `remove` are deleted (a zone moving to another file).
   * Synchronous on purpose: no other write or query interleaves with it.
   */
  commit(file: string, text: string, zone: Zone | null, remove: readonly string[] = []): void {
    if (zone !== null) {
      writeFileAtomic(file, text);
      const stat = fs.statSync(file);
      const prev = this.#files.get(file);
      this.#files.set(file, {
        zone,
        text,
        loadedAt: new Date(),
        errors: [],
        stamp: `${stat.mtimeMs}:${stat.size}:${stat.ino}`,
        generation: (prev?.generation ?? 0) + 1,
      });
      this.#opts.log.info({ file, zone: zone.origin, serial: zone.serial }, 'zone written');
    }
    for (const gone of remove) {
      fs.rmSync(gone, { force: true });
      const prev = this.#files.get(gone);
      if (prev) prev.generation++;
      this.#files.delete(gone);
      this.#opts.log.info({ file: gone }, 'zone file removed');
    }
    this.#swap();
  }

  /** The file currently serving `origin`, if any. */
  #ownerOf(origin: string): string | undefined {
    for (const [file, st] of this.#files) if (st.zone?.origin === origin) return file;
    return undefined;
  }
}

/** Loads every zone file in `dir` without serving it; returns every problem (for `meridian check`). */
export async function checkZoneDir(dir: string): Promise<{ zones: Zone[]; errors: ZoneError[] }> {
  const names = (await fsp.readdir(dir)).filter((n) => zoneFileKind(n) !== null).sort();
  return checkZoneFiles(names.map((n) => path.join(dir, n)));
}

/**
 * Loads these zone files without serving them, as `serve` would (a zone in two files is a
 * duplicate); returns every problem. A file without a zone extension is read as a master file.
 */
export async function checkZoneFiles(files: readonly string[]): Promise<{ zones: Zone[]; errors: ZoneError[] }> {
  const zones: Zone[] = [];
  const errors: ZoneError[] = [];
  const owners = new Map<string, string>();
  for (const file of files) {
    let text: string;
    try {
      text = await fsp.readFile(file, 'utf8');
    } catch (err) {
      errors.push(zoneError('MRD_ERR_ZONE_READ', { file, line: 0 }, [(err as NodeJS.ErrnoException).code ?? (err as Error).message]));
      continue;
    }
    const result = loadZoneText(text, file);
    if (!result.ok) {
      errors.push(...result.errors);
      continue;
    }
    const owner = owners.get(result.zone.origin);
    if (owner) {
      errors.push(zoneError('MRD_ERR_ZONE_DUPLICATE', { file, line: 0 }, [result.zone.origin, owner]));
      continue;
    }
    owners.set(result.zone.origin, file);
    zones.push(result.zone);
  }
  return { zones, errors };
}
