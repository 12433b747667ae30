/**
 * @module dnssec/keys
 * A zone's DNSSEC keys as Meridian keeps them: generated with node:crypto, stored as one JSON
 * {@link KeyRecord} per zone (under `--state DIR`, or in etcd in cluster mode: state/dnssec.ts,
 * cluster/dnssec-store.ts), and turned into {@link SigningKey}s that sign. A record is all a
 * node needs to sign exactly as every other node does: which key signs at a given time is a pure
 * function of the record and the clock ({@link keyStates}), so nodes agree without talking.
 *
 * Keys are combined signing keys (CSK: flags 257, one key signs everything; RFC 6781 §3.1.4
 * calls it a Single-Type Signing Scheme). A rollover (docs/dnssec.md) adds a second key that is
 * published first and signs later (pre-publication, RFC 7583 §3.3.1, with the DNSKEY RRset signed
 * by both keys throughout, so a DS for either validates).
 *
 * Private keys leave this module only as PKCS#8 text inside a record, which is written mode 0600
 * and never returned by the API or logged ({@link publicView}).
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { CSK_FLAGS, DnssecAlgorithm, dnskeyRdata, dsRdata, keyTag } from '../proto/dnssec.js';
import { keyToPresentation } from '../proto/name.js';
import { formatRdata } from '../proto/rdata.js';
import { RRType } from '../proto/types.js';

/** One key as stored (JSON). */
export interface StoredKey {
  readonly tag: number;
  readonly algorithm: number;
  readonly flags: number;
  /** ISO time the key was made. */
  readonly created: string;
  /** ISO time from which it signs the zone's data; before that it is only published. */
  readonly activateAt: string;
  /** The DNSKEY public key field, base64 (RFC 4034 §2.2). */
  readonly publicKey: string;
  /** PKCS#8 PEM. Never leaves the store but to sign. */
  readonly privateKey: string;
}

/** A rollover under way: the new key is published, then signs; the old one goes when completed. */
export interface RolloverRecord {
  readonly started: string;
  readonly oldTag: number;
  readonly newTag: number;
  /** When the new key starts signing: DNSKEY TTL + propagation delay after the start. */
  readonly activateAt: string;
  /** Earliest time the old key may be withdrawn: the zone's largest TTL + delay after activation. */
  readonly completeAfter: string;
}

/** Everything kept for one zone. */
export interface KeyRecord {
  readonly version: 1;
  /** The zone's origin key. */
  readonly zone: string;
  /** Signing was turned on through the API or `ctl` (the zone document may ask for it too). */
  readonly enabled: boolean;
  readonly algorithm: number;
  /** DNSKEY TTL chosen when enabling through the API; null: the document's, else the SOA's TTL. */
  readonly dnskeyTtlSeconds: number | null;
  readonly keys: readonly StoredKey[];
  readonly rollover: RolloverRecord | null;
}

export type KeyState = 'published' | 'active' | 'retiring';

/** A key ready to sign. */
export interface SigningKey {
  readonly tag: number;
  readonly algorithm: number;
  readonly flags: number;
  /** DNSKEY RDATA. */
  readonly dnskey: Buffer;
  readonly privateKey: KeyObject;
  readonly state: KeyState;
  readonly created: Date;
  readonly activateAt: Date;
}

/** Names of the algorithms, as the zone document and the API write them. */
export const ALGORITHM_NAMES: ReadonlyMap<number, string> = new Map([
  [DnssecAlgorithm.ECDSAP256SHA256, 'ecdsap256sha256'],
  [DnssecAlgorithm.ED25519, 'ed25519'],
]);

/** The algorithm number for a name (`ecdsap256sha256`, `ed25519`, or `13`/`15`), or undefined. */
export function algorithmFromName(name: string): number | undefined {
  const lower = name.toLowerCase();
  for (const [n, text] of ALGORITHM_NAMES) if (text === lower || String(n) === lower) return n;
  return undefined;
}

/** The raw public key field of a DNSKEY: P-256 x|y (RFC 6605 §4), or the Ed25519 key (RFC 8080 §3). */
function publicKeyField(publicKey: KeyObject, algorithm: number): Buffer {
  const jwk = publicKey.export({ format: 'jwk' });
  if (algorithm === DnssecAlgorithm.ED25519) return Buffer.from(jwk.x!, 'base64url');
  return Buffer.concat([Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
}

/** Makes a new CSK for `algorithm`, signing from `activateAt` (default: now). */
export function generateKey(algorithm: number, now: Date, activateAt: Date = now): StoredKey {
  const pair = algorithm === DnssecAlgorithm.ED25519 ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const field = publicKeyField(pair.publicKey, algorithm);
  const dnskey = dnskeyRdata(CSK_FLAGS, algorithm, field);
  return {
    tag: keyTag(dnskey),
    algorithm,
    flags: CSK_FLAGS,
    created: now.toISOString(),
    activateAt: activateAt.toISOString(),
    publicKey: field.toString('base64'),
    privateKey: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

/** The DNSKEY RDATA of a stored key. */
export function dnskeyOf(key: StoredKey): Buffer {
  return dnskeyRdata(key.flags, key.algorithm, Buffer.from(key.publicKey, 'base64'));
}

/**
 * Each key's state at `now` (RFC 7583 §3.1's states, folded for a CSK): the newest key whose
 * activation time has come is `active` and signs the data; newer ones are `published` (in the
 * DNSKEY RRset, signing only it); older ones are `retiring` (still published until the rollover
 * completes, so signatures they made and resolvers cached keep validating).
 */
export function keyStates(record: KeyRecord, now: Date): Map<number, KeyState> {
  const sorted = [...record.keys].sort((a, b) => Date.parse(a.activateAt) - Date.parse(b.activateAt) || Date.parse(a.created) - Date.parse(b.created));
  let active = -1;
  sorted.forEach((k, i) => {
    if (Date.parse(k.activateAt) <= now.getTime()) active = i;
  });
  if (active === -1) active = 0; // nothing due yet: the oldest signs (never a zone without a signer)
  const states = new Map<number, KeyState>();
  sorted.forEach((k, i) => states.set(k.tag, i === active ? 'active' : i < active ? 'retiring' : 'published'));
  return states;
}

/** The next time a key changes state, after `now`, or null. */
export function nextTransition(record: KeyRecord, now: Date): Date | null {
  let next: number | null = null;
  for (const k of record.keys) {
    const t = Date.parse(k.activateAt);
    if (t > now.getTime() && (next === null || t < next)) next = t;
  }
  return next === null ? null : new Date(next);
}

/**
 * The keys of a record, ready to sign at `now` (or in the states `given`). Throws (with the reason) when a stored key does
 * not parse or does not match its public half, so a corrupt record is never half used.
 */
export function signingKeys(record: KeyRecord, now: Date, given?: ReadonlyMap<number, KeyState>): SigningKey[] {
  // `given`: the states another process decided (a DNS worker follows its node's, state/replica.ts).
  const states = given ?? keyStates(record, now);
  return record.keys.map((k) => {
    const privateKey = createPrivateKey(k.privateKey);
    const field = publicKeyField(createPublicKey(privateKey), k.algorithm);
    if (!field.equals(Buffer.from(k.publicKey, 'base64'))) throw new Error(`key ${k.tag}: the private key does not match the public key`);
    const dnskey = dnskeyOf(k);
    if (keyTag(dnskey) !== k.tag) throw new Error(`key ${k.tag}: the stored tag does not match the key (${keyTag(dnskey)})`);
    return {
      tag: k.tag,
      algorithm: k.algorithm,
      flags: k.flags,
      dnskey,
      privateKey,
      state: states.get(k.tag)!,
      created: new Date(k.created),
      activateAt: new Date(k.activateAt),
    };
  });
}

/** Checks the shape of a record read from disk or etcd; returns why it is unusable, or null. */
export function recordProblem(data: unknown): string | null {
  if (typeof data !== 'object' || data === null) return 'not a JSON object';
  const r = data as Partial<KeyRecord>;
  if (r.version !== 1) return `unknown version ${String(r.version)}`;
  if (typeof r.zone !== 'string') return 'no zone';
  if (typeof r.enabled !== 'boolean') return 'no enabled flag';
  if (!ALGORITHM_NAMES.has(r.algorithm as number)) return `unknown algorithm ${String(r.algorithm)}`;
  if (!Array.isArray(r.keys) || r.keys.length === 0) return 'no keys';
  for (const k of r.keys) {
    if (typeof k !== 'object' || k === null) return 'a key is not an object';
    for (const f of ['tag', 'algorithm', 'flags'] as const) if (typeof k[f] !== 'number') return `a key has no ${f}`;
    for (const f of ['created', 'activateAt', 'publicKey', 'privateKey'] as const) if (typeof k[f] !== 'string') return `key ${k.tag} has no ${f}`;
    if (Number.isNaN(Date.parse(k.activateAt)) || Number.isNaN(Date.parse(k.created))) return `key ${k.tag} has a bad time`;
  }
  return null;
}

/** A key as the API shows it: never the private key. */
export interface PublicKeyView {
  readonly tag: number;
  readonly algorithm: number;
  readonly algorithm_name: string;
  readonly flags: number;
  readonly role: 'csk';
  readonly state: KeyState;
  readonly created: string;
  readonly activate_at: string;
  /** The DNSKEY record in presentation form. */
  readonly dnskey: string;
  /** The DS record (SHA-256) to give the parent, in presentation form. */
  readonly ds: string;
}

/**
 * The public side of each key of `record`, and the DS records (RFC 4509) for the parent; each
 * key's state as `serving` says (the signer in force), else as at `now`.
 */
export function publicView(record: KeyRecord, now: Date, dnskeyTtl: number, serving?: ReadonlyMap<number, KeyState>): PublicKeyView[] {
  const states = serving ?? keyStates(record, now);
  const owner = keyToPresentation(record.zone);
  return record.keys.map((k) => {
    const dnskey = dnskeyOf(k);
    return {
      tag: k.tag,
      algorithm: k.algorithm,
      algorithm_name: ALGORITHM_NAMES.get(k.algorithm) ?? String(k.algorithm),
      flags: k.flags,
      role: 'csk' as const,
      state: states.get(k.tag) ?? keyStates(record, now).get(k.tag)!,
      created: k.created,
      activate_at: k.activateAt,
      dnskey: `${owner} ${dnskeyTtl} IN DNSKEY ${formatRdata(RRType.DNSKEY, dnskey)}`,
      ds: `${owner} ${dnskeyTtl} IN DS ${formatRdata(RRType.DS, dsRdata(record.zone, dnskey))}`,
    };
  });
}
