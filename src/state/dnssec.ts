/**
 * @module state/dnssec
 * Where DNSSEC keys are kept, and the manager that turns them into the signers of the snapshot.
 *
 * A {@link KeyStore} holds one {@link KeyRecord} per zone: a JSON file mode 0600 under
 * `<state>/dnssec/` on a single node ({@link FileKeyStore}), a key under `<prefix>/dnssec/` in
 * cluster mode (cluster/dnssec-store.ts), or nowhere ({@link NoKeyStore}: a single node started
 * without `--state`, which refuses to sign — keys that vanish on restart would break every
 * validating resolver the moment the parent holds their DS).
 *
 * {@link DnssecKeys} reads the records, builds a {@link ZoneSigner} per zone that has keys, and
 * swaps them into the snapshot holder. It makes keys when a zone asks for signing (a document with
 * `dnssec:`, or {@link DnssecKeys.enable}), moves rollovers along when their time comes (a timer
 * per next transition; every node derives the same states from the same record and clock), and
 * refuses what would break validation (docs/dnssec.md).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createError } from '../errors.js';
import type { Logger } from '../log.js';
import { keyToPresentation } from '../proto/name.js';
import { DnssecAlgorithm } from '../proto/dnssec.js';
import {
  ALGORITHM_NAMES,
  generateKey,
  keyStates,
  nextTransition,
  publicView,
  recordProblem,
  signingKeys,
  type KeyRecord,
  type PublicKeyView,
} from '../dnssec/keys.js';
import { ZoneSigner } from '../dnssec/signer.js';
import type { Zone } from '../zone/zone.js';
import type { CommitResult } from './source.js';
import type { SnapshotHolder } from './snapshot.js';

/** A stored record and the revision a write must name to replace it. */
export interface StoredRecord {
  readonly record: KeyRecord;
  readonly revision: string;
}

export interface KeyStore {
  /** `files` (--state), `etcd` (cluster) or `none` (nowhere durable: signing is refused). */
  readonly kind: 'files' | 'etcd' | 'none';
  /** Every record, by zone origin key. */
  load(): Promise<Map<string, StoredRecord>>;
  /** Stores `record` if the zone's record is still at `expected` (null: there must be none). */
  put(record: KeyRecord, expected: string | null): Promise<CommitResult>;
  /** Deletes the zone's record if it is still at `expected`. */
  delete(zone: string, expected: string): Promise<CommitResult>;
  /** Called with every change made elsewhere (another node of a cluster); files have none. */
  onChange?: ((zone: string, stored: StoredRecord | null) => void) | undefined;
}

/** No durable place: everything loads empty, and every write is refused with MRD_ERR_DNSSEC_NO_STATE. */
export class NoKeyStore implements KeyStore {
  readonly kind = 'none' as const;
  async load(): Promise<Map<string, StoredRecord>> {
    return new Map();
  }
  async put(record: KeyRecord): Promise<CommitResult> {
    throw createError('MRD_ERR_DNSSEC_NO_STATE', keyToPresentation(record.zone));
  }
  async delete(): Promise<CommitResult> {
    return { ok: true };
  }
}

const revisionOf = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 16);

/** File name of a zone's record: its presentation name without the final dot (`root` for the root). */
function fileName(zone: string): string {
  const name = zone === '' ? 'root' : keyToPresentation(zone).replace(/\.$/, '');
  return `${name.replace(/[^A-Za-z0-9._-]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`)}.json`;
}

/**
 * Records as files under `<state>/dnssec/`: the directory mode 0700, each file mode 0600, written
 * atomically (a temporary file, fsync, rename) so a crash leaves the old record or the new one.
 */
export class FileKeyStore implements KeyStore {
  readonly kind = 'files' as const;
  readonly dir: string;
  onChange: undefined;

  constructor(stateDir: string) {
    this.dir = path.join(stateDir, 'dnssec');
  }

  async load(): Promise<Map<string, StoredRecord>> {
    const out = new Map<string, StoredRecord>();
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return out;
      throw err;
    }
    for (const name of names.filter((n) => n.endsWith('.json'))) {
      const file = path.join(this.dir, name);
      const text = fs.readFileSync(file, 'utf8');
      let data: unknown;
      try {
        data = JSON.parse(text);
      } catch (err) {
        throw createError('MRD_ERR_DNSSEC_KEYS', name, `${file} is not JSON: ${(err as Error).message}`);
      }
      const problem = recordProblem(data);
      if (problem) throw createError('MRD_ERR_DNSSEC_KEYS', name, `${file}: ${problem}`);
      const record = data as KeyRecord;
      out.set(record.zone, { record, revision: revisionOf(text) });
    }
    return out;
  }

  #current(zone: string): string | null {
    try {
      return revisionOf(fs.readFileSync(path.join(this.dir, fileName(zone)), 'utf8'));
    } catch {
      return null;
    }
  }

  async put(record: KeyRecord, expected: string | null): Promise<CommitResult> {
    const current = this.#current(record.zone);
    if (expected === null && current !== null) return { ok: false, code: 'MRD_ERR_API_CONFLICT', detail: 'the zone has keys already' };
    if (current !== expected) return { ok: false, code: 'MRD_ERR_API_PRECONDITION', detail: 'the keys changed meanwhile; try again' };
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const file = path.join(this.dir, fileName(record.zone));
    const tmp = `${file}.${process.pid}.tmp`;
    const text = `${JSON.stringify(record, null, 2)}\n`;
    const fd = fs.openSync(tmp, 'w', 0o600);
    try {
      fs.writeSync(fd, text);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.chmodSync(tmp, 0o600); // whatever the umask
    fs.renameSync(tmp, file);
    return { ok: true };
  }

  async delete(zone: string, expected: string): Promise<CommitResult> {
    if (this.#current(zone) !== expected) return { ok: false, code: 'MRD_ERR_API_PRECONDITION', detail: 'the keys changed meanwhile; try again' };
    fs.rmSync(path.join(this.dir, fileName(zone)), { force: true });
    return { ok: true };
  }
}

/** What the API and the status page show of a zone's signing (never a private key). */
export interface DnssecStatus {
  readonly zone: string;
  /** Answers to DO=1 queries carry signatures. */
  readonly signed: boolean;
  /** Why the zone is signed: its document asks (`document`), or it was enabled through the API (`api`); null when unsigned. */
  readonly source: 'document' | 'api' | null;
  readonly algorithm: string | null;
  readonly dnskey_ttl: number | null;
  readonly keys: readonly PublicKeyView[];
  /** DS records for the parent (SHA-256), from the keys the parent should name now (CDS). */
  readonly ds: readonly string[];
  readonly rollover: { started: string; old_tag: number; new_tag: number; activate_at: string; complete_after: string } | null;
  /** Why a zone that asks to be signed is not, or null. */
  readonly problem: string | null;
}

export interface DnssecKeysOptions {
  readonly holder: SnapshotHolder;
  readonly store: KeyStore;
  readonly log: Logger;
  readonly now?: () => Date;
}

/** Seconds a rollover waits beyond the TTLs for every node and secondary to catch up, unless told. */
export const DEFAULT_PROPAGATION_SECONDS = 60;

const signerRecords = new WeakMap<ZoneSigner, KeyRecord>();

/** The key record a signer was built from by {@link DnssecKeys} (a node hands it to its DNS workers, state/replica.ts). */
export function signerRecord(signer: ZoneSigner): KeyRecord | undefined {
  return signerRecords.get(signer);
}

export class DnssecKeys {
  readonly #opts: DnssecKeysOptions;
  readonly #records = new Map<string, StoredRecord>();
  /** Zones whose document asks for signing but whose keys could not be made, and why. */
  readonly #problems = new Map<string, string>();
  readonly #making = new Set<string>();
  #timer: NodeJS.Timeout | null = null;
  #unsubscribe: (() => void) | null = null;
  #stopped = false;

  constructor(opts: DnssecKeysOptions) {
    this.#opts = opts;
    if (opts.store.kind !== 'none') opts.store.onChange = (zone, stored) => this.#changed(zone, stored);
  }

  get storeKind(): KeyStore['kind'] {
    return this.#opts.store.kind;
  }

  #now(): Date {
    return this.#opts.now?.() ?? new Date();
  }

  /** Loads the records, installs their signers, makes keys for zones that ask, and watches for more. */
  async start(): Promise<void> {
    try {
      for (const [zone, stored] of await this.#opts.store.load()) this.#records.set(zone, stored);
    } catch (err) {
      // etcd away at start: the cluster's watch delivers the records when it is back (its
      // first load resets every subscriber). A broken key file, though, stops the node.
      if (this.#opts.store.kind !== 'etcd') throw err;
      this.#opts.log.warn({ err: (err as Error).message }, 'cannot read DNSSEC keys from etcd yet; they follow with the configuration');
    }
    this.#install();
    this.#unsubscribe = this.#opts.holder.onSwap(() => void this.#ensureDeclared());
    await this.#ensureDeclared();
  }

  stop(): void {
    this.#stopped = true;
    this.#unsubscribe?.();
    if (this.#timer) clearTimeout(this.#timer);
  }

  /** A change from elsewhere (another node): take it and re-install. */
  #changed(zone: string, stored: StoredRecord | null): void {
    if (stored) this.#records.set(zone, stored);
    else this.#records.delete(zone);
    this.#install();
  }

  /** Builds a signer per record and swaps them in; schedules the next key transition. */
  #install(): void {
    if (this.#stopped) return;
    const now = this.#now();
    const signers = new Map<string, ZoneSigner>();
    let next: Date | null = null;
    for (const [zone, { record }] of this.#records) {
      try {
        const signer = new ZoneSigner(zone, signingKeys(record, now), record.enabled ? 'api' : 'document', record.dnskeyTtlSeconds);
        signerRecords.set(signer, record);
        signers.set(zone, signer);
        this.#problems.delete(zone);
      } catch (err) {
        const why = (err as Error).message;
        this.#problems.set(zone, why);
        this.#opts.log.error({ zone: keyToPresentation(zone), err: why }, 'DNSSEC keys unusable; the zone is served unsigned');
      }
      const t = nextTransition(record, now);
      if (t && (!next || t < next)) next = t;
    }
    this.#opts.holder.swapSigners(signers);
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (next) {
      // Timers fire at most every 2^31 ms; a later transition is re-checked then.
      this.#timer = setTimeout(() => this.#install(), Math.min(Math.max(0, next.getTime() - now.getTime()) + 50, 2 ** 31 - 1));
      this.#timer.unref();
    }
  }

  /** Zones whose document asks for signing and that have no keys yet get them (once). */
  async #ensureDeclared(): Promise<void> {
    const making: Promise<void>[] = [];
    for (const zone of this.#opts.holder.current.catalog.zones) {
      if (!zone.dnssec || this.#records.has(zone.origin) || this.#making.has(zone.origin)) continue;
      if (this.#opts.store.kind === 'none') {
        const why = createError('MRD_ERR_DNSSEC_NO_STATE', keyToPresentation(zone.origin)).message;
        if (this.#problems.get(zone.origin) !== why) this.#opts.log.error({ zone: keyToPresentation(zone.origin) }, why);
        this.#problems.set(zone.origin, why);
        continue;
      }
      this.#making.add(zone.origin);
      const made = this.prepare(zone).then(
        () => void this.#making.delete(zone.origin),
        (err) => {
          this.#making.delete(zone.origin);
          this.#problems.set(zone.origin, (err as Error).message);
          this.#opts.log.error({ zone: keyToPresentation(zone.origin), err: (err as Error).message }, 'cannot make DNSSEC keys');
        },
      );
      making.push(made);
    }
    await Promise.all(making);
  }

  /**
   * Makes the keys of a zone whose document asks for signing, if it has none: the zone store
   * calls it before such a zone is written, so the zone is signed from its first answer. Throws
   * MRD_ERR_DNSSEC_NO_STATE when there is nowhere durable to keep them.
   */
  async prepare(zone: Zone): Promise<void> {
    if (!zone.dnssec || this.#records.has(zone.origin)) return;
    if (this.#opts.store.kind === 'none') throw createError('MRD_ERR_DNSSEC_NO_STATE', keyToPresentation(zone.origin));
    const record: KeyRecord = {
      version: 1,
      zone: zone.origin,
      enabled: false,
      algorithm: zone.dnssec.algorithm,
      dnskeyTtlSeconds: null,
      keys: [generateKey(zone.dnssec.algorithm, this.#now())],
      rollover: null,
    };
    await this.#commit(record, null, true);
  }

  /** Stores a record (CAS on its revision) and installs it; `adoptRace`: another node made one first, take theirs. */
  async #commit(record: KeyRecord, expected: string | null, adoptRace = false): Promise<void> {
    const result = await this.#opts.store.put(record, expected);
    if (!result.ok) {
      if (adoptRace && result.code === 'MRD_ERR_API_CONFLICT') {
        for (const [zone, stored] of await this.#opts.store.load()) this.#records.set(zone, stored);
        this.#install();
        return;
      }
      throw createError(result.code, result.detail);
    }
    const reread = (await this.#opts.store.load()).get(record.zone);
    if (reread) this.#records.set(record.zone, reread);
    this.#install();
    this.#opts.log.info({ zone: keyToPresentation(record.zone), keys: record.keys.map((k) => k.tag) }, 'DNSSEC keys stored');
  }

  /** The zone's record, if it has keys. */
  record(zone: string): KeyRecord | undefined {
    return this.#records.get(zone)?.record;
  }

  /** The DNSKEY TTL of a zone: the document's, the record's, else the SOA's. */
  dnskeyTtl(zone: Zone): number {
    return zone.dnssec?.dnskeyTtlSeconds ?? this.#records.get(zone.origin)?.record.dnskeyTtlSeconds ?? zone.soa.ttlSeconds;
  }

  /** What the API shows of a zone's signing. */
  status(zone: Zone): DnssecStatus {
    const stored = this.#records.get(zone.origin);
    const signer = this.#opts.holder.current.signers.get(zone.origin);
    const signed = Boolean(signer && (zone.dnssec || stored?.record.enabled));
    const ttl = this.dnskeyTtl(zone);
    const now = this.#now();
    // States as the signer in force has them: what DNS answers with, not what the clock says is due.
    const serving = signer ? new Map(signer.published.map((k) => [k.tag, k.state])) : undefined;
    const keys = stored ? publicView(stored.record, now, ttl, serving) : [];
    return {
      zone: keyToPresentation(zone.origin),
      signed,
      source: signed ? (zone.dnssec ? 'document' : 'api') : null,
      algorithm: stored ? (ALGORITHM_NAMES.get(stored.record.algorithm) ?? null) : zone.dnssec ? (ALGORITHM_NAMES.get(zone.dnssec.algorithm) ?? null) : null,
      dnskey_ttl: stored || zone.dnssec ? ttl : null,
      keys,
      ds: keys.filter((k) => k.state !== 'retiring').map((k) => k.ds),
      rollover: rolloverView(stored?.record.rollover ?? null),
      problem: this.#problems.get(zone.origin) ?? (zone.dnssec && !stored ? 'keys are being made' : null),
    };
  }

  /** Turns signing on through the API: makes keys if there are none. Returns true when it changed something. */
  async enable(zone: Zone, opts: { algorithm?: number | undefined; dnskeyTtlSeconds?: number | undefined }): Promise<boolean> {
    if (this.#opts.store.kind === 'none') throw createError('MRD_ERR_DNSSEC_NO_STATE', keyToPresentation(zone.origin));
    const stored = this.#records.get(zone.origin);
    if (stored) {
      if (opts.algorithm !== undefined && opts.algorithm !== stored.record.algorithm) {
        throw createError(
          'MRD_ERR_API_CONFLICT',
          `zone ${keyToPresentation(zone.origin)} already has ${ALGORITHM_NAMES.get(stored.record.algorithm)} keys; changing the algorithm needs an algorithm rollover, which Meridian does not do yet`,
        );
      }
      if (stored.record.enabled && (opts.dnskeyTtlSeconds === undefined || opts.dnskeyTtlSeconds === stored.record.dnskeyTtlSeconds)) return false;
      await this.#commit({ ...stored.record, enabled: true, dnskeyTtlSeconds: opts.dnskeyTtlSeconds ?? stored.record.dnskeyTtlSeconds }, stored.revision);
      return true;
    }
    const algorithm = opts.algorithm ?? zone.dnssec?.algorithm ?? DnssecAlgorithm.ECDSAP256SHA256;
    await this.#commit(
      {
        version: 1,
        zone: zone.origin,
        enabled: true,
        algorithm,
        dnskeyTtlSeconds: opts.dnskeyTtlSeconds ?? null,
        keys: [generateKey(algorithm, this.#now())],
        rollover: null,
      },
      null,
    );
    return true;
  }

  /**
   * Turns API signing off and deletes the keys. Refused while the zone's document asks for
   * signing (remove its `dnssec:` block instead). The DS must be gone from the parent first,
   * and its TTL passed, or validating resolvers will fail the zone (docs/dnssec.md).
   */
  async disable(zone: Zone): Promise<void> {
    if (zone.dnssec) throw createError('MRD_ERR_DNSSEC_DECLARED', keyToPresentation(zone.origin));
    const stored = this.#records.get(zone.origin);
    if (!stored) throw createError('MRD_ERR_DNSSEC_NOT_SIGNED', keyToPresentation(zone.origin));
    const result = await this.#opts.store.delete(zone.origin, stored.revision);
    if (!result.ok) throw createError(result.code, result.detail);
    this.#records.delete(zone.origin);
    this.#install();
    this.#opts.log.info({ zone: keyToPresentation(zone.origin) }, 'DNSSEC signing disabled; keys deleted');
  }

  /**
   * Starts a CSK rollover (pre-publication, RFC 7583 §3.3.1 and docs/dnssec.md): a new key is
   * published now and signs from `activateAt` = now + DNSKEY TTL + propagation; the old key stays
   * published (and signing the DNSKEY RRset) until {@link completeRollover}, allowed once the
   * zone's largest TTL + propagation has passed since activation.
   */
  async startRollover(zone: Zone, propagationSeconds = DEFAULT_PROPAGATION_SECONDS): Promise<KeyRecord> {
    const stored = this.#records.get(zone.origin);
    if (!stored || !this.#opts.holder.current.signers.has(zone.origin)) throw createError('MRD_ERR_DNSSEC_NOT_SIGNED', keyToPresentation(zone.origin));
    const rec = stored.record;
    if (rec.rollover)
      throw createError(
        'MRD_ERR_DNSSEC_ROLLOVER',
        `a rollover of ${keyToPresentation(zone.origin)} is already under way (key ${rec.rollover.newTag}); complete it first`,
      );
    const now = this.#now();
    const states = keyStates(rec, now);
    const old = rec.keys.find((k) => states.get(k.tag) === 'active')!;
    const activateAt = new Date(now.getTime() + (this.dnskeyTtl(zone) + propagationSeconds) * 1000);
    let key = generateKey(rec.algorithm, now, activateAt);
    while (rec.keys.some((k) => k.tag === key.tag)) key = generateKey(rec.algorithm, now, activateAt); // distinct tags (RFC 4034 App. B is not unique)
    const completeAfter = new Date(activateAt.getTime() + (maxTtl(zone, this.dnskeyTtl(zone)) + propagationSeconds) * 1000);
    const next: KeyRecord = {
      ...rec,
      keys: [...rec.keys.filter((k) => states.get(k.tag) !== 'retiring'), key],
      rollover: {
        started: now.toISOString(),
        oldTag: old.tag,
        newTag: key.tag,
        activateAt: activateAt.toISOString(),
        completeAfter: completeAfter.toISOString(),
      },
    };
    await this.#commit(next, stored.revision);
    return next;
  }

  /** Ends a rollover: withdraws the old key. Refused before `completeAfter`. */
  async completeRollover(zone: Zone): Promise<KeyRecord> {
    const stored = this.#records.get(zone.origin);
    if (!stored) throw createError('MRD_ERR_DNSSEC_NOT_SIGNED', keyToPresentation(zone.origin));
    const ro = stored.record.rollover;
    if (!ro)
      throw createError(
        'MRD_ERR_DNSSEC_ROLLOVER',
        `no rollover of ${keyToPresentation(zone.origin)} is under way; start one with "meridian ctl dnssec rollover ${keyToPresentation(zone.origin)}"`,
      );
    const now = this.#now();
    if (now.getTime() < Date.parse(ro.completeAfter)) {
      throw createError(
        'MRD_ERR_DNSSEC_ROLLOVER',
        `the old key ${ro.oldTag} may still be needed until ${ro.completeAfter} (new key ${ro.newTag} signs from ${ro.activateAt}, then the zone's largest TTL must pass); replace the DS at the parent with the new one meanwhile`,
      );
    }
    const next: KeyRecord = { ...stored.record, keys: stored.record.keys.filter((k) => k.tag !== ro.oldTag), rollover: null };
    await this.#commit(next, stored.revision);
    return next;
  }
}

/** A rollover as the API shows it (snake_case, docs/api.md "Field names"). */
function rolloverView(r: KeyRecord['rollover']): DnssecStatus['rollover'] {
  return r && { started: r.started, old_tag: r.oldTag, new_tag: r.newTag, activate_at: r.activateAt, complete_after: r.completeAfter };
}

/** The largest TTL a resolver may hold data of the zone for: any RRset, the negative TTL, the DNSKEY TTL. */
function maxTtl(zone: Zone, dnskeyTtl: number): number {
  let max = Math.max(dnskeyTtl, zone.negativeTtlSeconds);
  for (const s of zone.rrsets) if (s.ttlSeconds > max) max = s.ttlSeconds;
  for (const r of zone.policies?.records ?? []) if (r.ttlSeconds > max) max = r.ttlSeconds;
  return max;
}
