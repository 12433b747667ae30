/**
 * @module proto/dnssec
 * The wire side of DNSSEC, with no keys and no clock: DNSKEY and DS RDATA, key tags, the data an
 * RRSIG signs and the RRSIG RDATA around a signature, NSEC RDATA, and the canonical name order with
 * the immediate successor and predecessor of a name that online denial needs. Signing itself (the
 * private key, the time window, the cache) is src/dnssec/'s; this module only lays out octets.
 *
 * RFC 4034 (records), RFC 4035 §2-3 (what an authoritative server adds), RFC 4509 (SHA-256 DS),
 * RFC 6605 (ECDSA), RFC 8080 (Ed25519), RFC 4470 (minimally covering NSEC), RFC 9824 (compact denial).
 */
import { createHash } from 'node:crypto';
import { MAX_LABEL_LENGTH, MAX_NAME_LENGTH, keyToLabels, keyToWire, labelsToKey, splitKey } from './name.js';
import { encodeBitmap } from './rdata.js';
import { RRType } from './types.js';

/** DNSSEC algorithm numbers Meridian signs with (RFC 8624 §3.1: both MUST/RECOMMENDED to sign). */
export const DnssecAlgorithm = {
  /** RFC 6605: ECDSA P-256 with SHA-256. The default, as for most signed zones. */
  ECDSAP256SHA256: 13,
  /** RFC 8080: Ed25519. */
  ED25519: 15,
} as const;
export type DnssecAlgorithmNumber = (typeof DnssecAlgorithm)[keyof typeof DnssecAlgorithm];

/** DNSKEY flags (RFC 4034 §2.1.1): Zone Key (bit 7) and Secure Entry Point (bit 15). */
export const DNSKEY_ZONE = 0x0100;
export const DNSKEY_SEP = 0x0001;
/** A combined signing key (CSK): a zone key with SEP set, 257. */
export const CSK_FLAGS = DNSKEY_ZONE | DNSKEY_SEP;

/** DS digest type 2 (RFC 4509 §2.1): SHA-256. */
export const DIGEST_SHA256 = 2;

/** DNSKEY RDATA (RFC 4034 §2.1): flags, protocol 3, algorithm, public key. */
export function dnskeyRdata(flags: number, algorithm: number, publicKey: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(4 + publicKey.length);
  out.writeUInt16BE(flags, 0);
  out[2] = 3; // RFC 4034 §2.1.2: the protocol field MUST be 3
  out[3] = algorithm;
  out.set(publicKey, 4);
  return out;
}

/** The key tag of a DNSKEY RDATA (RFC 4034 Appendix B; algorithm 1 is never signed with here). */
export function keyTag(dnskey: Uint8Array): number {
  let ac = 0;
  for (let i = 0; i < dnskey.length; i++) ac += i & 1 ? dnskey[i]! : dnskey[i]! << 8;
  ac += (ac >> 16) & 0xffff;
  return ac & 0xffff;
}

/** DS (or CDS) RDATA with a SHA-256 digest of owner | DNSKEY RDATA (RFC 4034 §5.1.4, RFC 4509 §2.1). */
export function dsRdata(ownerKey: string, dnskey: Buffer): Buffer {
  const digest = createHash('sha256').update(keyToWire(ownerKey)).update(dnskey).digest();
  const out = Buffer.allocUnsafe(4 + digest.length);
  out.writeUInt16BE(keyTag(dnskey), 0);
  out[2] = dnskey[3]!;
  out[3] = DIGEST_SHA256;
  digest.copy(out, 4);
  return out;
}

/** The RRSIG Labels field (RFC 4034 §3.1.3): labels of the owner, not counting the root or a leading `*`. */
export function rrsigLabels(ownerKey: string): number {
  const parts = splitKey(ownerKey);
  return parts[0] === '*' ? parts.length - 1 : parts.length;
}

/** The fields of an RRSIG before its signature (RFC 4034 §3.1). */
export interface RrsigFields {
  readonly typeCovered: number;
  readonly algorithm: number;
  readonly labels: number;
  readonly originalTtl: number;
  /** Seconds since the epoch, mod 2^32 (RFC 4034 §3.1.5 serial-number arithmetic). */
  readonly expiration: number;
  readonly inception: number;
  readonly keyTag: number;
  /** The zone's apex key. */
  readonly signer: string;
}

/** RRSIG RDATA up to (not including) the signature: what §3.1.8.1 puts first in the signed data. */
export function rrsigPrefix(f: RrsigFields): Buffer {
  const signer = keyToWire(f.signer);
  const out = Buffer.allocUnsafe(18 + signer.length);
  out.writeUInt16BE(f.typeCovered, 0);
  out[2] = f.algorithm;
  out[3] = f.labels;
  out.writeUInt32BE(f.originalTtl >>> 0, 4);
  out.writeUInt32BE(f.expiration >>> 0, 8);
  out.writeUInt32BE(f.inception >>> 0, 12);
  out.writeUInt16BE(f.keyTag, 16);
  signer.copy(out, 18);
  return out;
}

/**
 * The data an RRSIG signs (RFC 4034 §3.1.8.1): the RRSIG prefix, then each RR of the set in
 * canonical form (§6.2: owner lowercase and uncompressed, the original TTL, names in RDATA of the
 * §6.2 types lowercased) and canonical order (§6.3: RDATA compared as octet strings, duplicates
 * once). A wildcard RRset is signed under its wildcard owner (`*.` and the closest encloser,
 * RFC 4035 §5.3.2), which the caller passes as `ownerKey`. `rdatas` must already be canonical
 * (Meridian's zone data is: names in RDATA are stored lowercase by the parsers).
 */
export function signingData(prefix: Buffer, ownerKey: string, type: number, ttl: number, rdatas: readonly Buffer[]): Buffer {
  const owner = keyToWire(ownerKey);
  const sorted = [...rdatas].sort(Buffer.compare);
  const parts: Buffer[] = [prefix];
  let prev: Buffer | null = null;
  for (const rdata of sorted) {
    if (prev?.equals(rdata)) continue;
    prev = rdata;
    const fixed = Buffer.allocUnsafe(10);
    fixed.writeUInt16BE(type, 0);
    fixed.writeUInt16BE(1, 2); // class IN
    fixed.writeUInt32BE(ttl >>> 0, 4);
    fixed.writeUInt16BE(rdata.length, 8);
    parts.push(owner, fixed, rdata);
  }
  return Buffer.concat(parts);
}

/** NSEC RDATA (RFC 4034 §4.1): the next owner (uncompressed, lowercase) and the type bitmap. */
export function nsecRdata(nextKey: string, types: Iterable<number>): Buffer {
  return Buffer.concat([keyToWire(nextKey), Buffer.from(encodeBitmap([...types]))]);
}

/**
 * Canonical order of names (RFC 4034 §6.1): by labels from the root down, each label compared as
 * lowercase octets (keys are lowercase already), a shorter label before a longer one it prefixes.
 * Negative when `a` sorts before `b`.
 */
export function compareNames(a: string, b: string): number {
  const la = keyToLabels(a).reverse();
  const lb = keyToLabels(b).reverse();
  for (let i = 0; i < Math.min(la.length, lb.length); i++) {
    const c = Buffer.compare(la[i]!, lb[i]!);
    if (c !== 0) return c;
  }
  return la.length - lb.length;
}

/**
 * The immediate successor of a name in canonical order (RFC 4470 §3.1.1, RFC 9824 §3.1): the name
 * with a label holding one zero octet prepended, `\000.<name>`. When that would be too long, the
 * successor is found by raising the first label instead (RFC 4470 §3.1.1's second and third cases).
 */
export function successorKey(key: string): string {
  const labels = keyToLabels(key);
  if (wireLength(labels) + 2 <= MAX_NAME_LENGTH) return labelsToKey([Buffer.from([0]), ...labels]);
  // Too long to prepend: increment the first label, dropping labels that cannot grow.
  for (let i = 0; i < labels.length; i++) {
    const label = Buffer.from(labels[i]!);
    const rest = labels.slice(i + 1);
    if (label.length < MAX_LABEL_LENGTH && wireLength([label, ...rest]) + 1 <= MAX_NAME_LENGTH) {
      return labelsToKey([Buffer.concat([label, Buffer.from([0])]), ...rest]);
    }
    for (let j = label.length - 1; j >= 0; j--) {
      if (label[j]! === 0xff) continue;
      let next = label[j]! + 1;
      if (next >= 0x41 && next <= 0x5a) next = 0x5b; // RFC 4470 §3.1.1: skip uppercase (canonical form is lowercase)
      return labelsToKey([Buffer.concat([label.subarray(0, j), Buffer.from([next])]), ...rest]);
    }
  }
  return key;
}

/**
 * The first name after `key` and its whole subtree, in canonical order: the first label with a
 * zero octet appended (`x` → `x\000`), a sibling. Unlike {@link successorKey} it is not below
 * `key`, so an NSEC ending there does not make `key` look like an empty non-terminal to a
 * validator (which infers one from a next name below the query name); a wildcard's proof needs
 * exactly that (RFC 4035 §3.1.3.3). A label already 63 octets long has its last octet raised.
 */
export function siblingSuccessorKey(key: string): string {
  const labels = keyToLabels(key);
  if (labels.length === 0) return key;
  const first = labels[0]!;
  const rest = labels.slice(1);
  if (first.length < MAX_LABEL_LENGTH && wireLength(labels) + 1 <= MAX_NAME_LENGTH) return labelsToKey([Buffer.concat([first, Buffer.from([0])]), ...rest]);
  for (let j = first.length - 1; j >= 0; j--) {
    if (first[j]! === 0xff) continue;
    let next = first[j]! + 1;
    if (next >= 0x41 && next <= 0x5a) next = 0x5b;
    return labelsToKey([Buffer.concat([first.subarray(0, j), Buffer.from([next])]), ...rest]);
  }
  return key;
}

/**
 * A name just before `key` in canonical order and strictly after every name that sorts before it
 * and exists in practice (RFC 4470 §3.1.2): the first label with its last octet decremented
 * (skipping uppercase, which canonical form lowers) and filled with 0xff octets to the longest
 * label and name allowed; when the last octet is zero, that octet is dropped (and a label that is
 * a single zero octet has the parent as its predecessor). The result is a sibling of `key` (or its
 * parent), so it stays inside the zone.
 */
export function predecessorKey(key: string): string {
  const labels = keyToLabels(key);
  if (labels.length === 0) return key;
  const first = labels[0]!;
  const rest = labels.slice(1);
  const last = first[first.length - 1]!;
  let stem: Buffer;
  if (last === 0) {
    if (first.length === 1) return labelsToKey(rest); // `\000.parent`: the parent is its predecessor
    stem = Buffer.from(first.subarray(0, first.length - 1));
    return labelsToKey([stem, ...rest]);
  }
  let dec = last - 1;
  if (dec >= 0x41 && dec <= 0x5a) dec = 0x40; // below 'A': uppercase octets sort as lowercase
  stem = Buffer.concat([first.subarray(0, first.length - 1), Buffer.from([dec])]);
  const room = Math.min(MAX_LABEL_LENGTH - stem.length, MAX_NAME_LENGTH - wireLength([stem, ...rest]));
  const filled = room > 0 ? Buffer.concat([stem, Buffer.alloc(room, 0xff)]) : stem;
  return labelsToKey([filled, ...rest]);
}

function wireLength(labels: readonly Uint8Array[]): number {
  let n = 1;
  for (const l of labels) n += l.length + 1;
  return n;
}

/** The types an NSEC bitmap always lists for a signed name: RRSIG and NSEC (RFC 4034 §4.1.2, RFC 4035 §2.3). */
export const NSEC_SELF_TYPES: readonly number[] = [RRType.RRSIG, RRType.NSEC];
