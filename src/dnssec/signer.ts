/**
 * @module dnssec/signer
 * A zone's signer: its keys at one moment ({@link ZoneSigner}), the RRSIGs they make, and a cache
 * of those signatures so that a steady state signs nothing per query. The query path (dns/sign.ts)
 * calls {@link ZoneSigner.sign} synchronously: node:crypto's ECDSA P-256 and Ed25519 signing are
 * synchronous and take tens of microseconds, and a cached signature takes none.
 *
 * Signature times (docs/dnssec.md, "Signatures"): inception one hour back, for clocks that run
 * slow (RFC 6781 §4.4.2.2); expiration 14 days ahead less up to one day of jitter, so signatures
 * made together do not expire together (RFC 6781 §4.4.2.1); re-signed once they are 7 days old
 * less up to one day of jitter, so a signature served always has more than six days to run. The
 * cache is keyed by (owner, type, TTL, RDATA octets) and lives as long as the signer: a new zone
 * snapshot keeps it, a key change (a new signer) starts afresh.
 */
import { sign as cryptoSign } from 'node:crypto';
import { DnssecAlgorithm, dsRdata, rrsigLabels, rrsigPrefix, signingData } from '../proto/dnssec.js';
import { RRType } from '../proto/types.js';
import type { RRset } from '../proto/wire.js';
import type { SigningKey } from './keys.js';

const HOUR = 3600;
const DAY = 86_400;
/** Inception this far back: validators whose clocks run slow still accept (RFC 6781 §4.4.2.2). */
export const INCEPTION_SKEW_SECONDS = HOUR;
/** Validity of a signature, before jitter. */
export const VALIDITY_SECONDS = 14 * DAY;
/** A signature is re-made once it is this old (less jitter): it then has more than 6 days left. */
export const REFRESH_SECONDS = 7 * DAY;
/** Up to this much is taken off both the validity and the refresh age, at random. */
export const JITTER_SECONDS = DAY;

/** Counters for /metrics: signatures made, and signatures served without signing. */
export const signatureCounters = { made: 0, cached: 0 };

/** The RRSIGs of one RRset, and when they are to be re-made (ms since the epoch). */
export interface Signatures {
  readonly rdatas: readonly Buffer[];
  readonly refreshAt: number;
}

/** The signatures of many RRsets in one cache, in two generations (as dns/cache.ts). */
class SignatureCache {
  #young = new Map<string, Signatures>();
  #old = new Map<string, Signatures>();
  constructor(readonly generation: number) {}
  get(key: string): Signatures | undefined {
    const hit = this.#young.get(key);
    if (hit) return hit;
    const old = this.#old.get(key);
    if (old) this.set(key, old);
    return old;
  }
  set(key: string, value: Signatures): void {
    if (this.#young.size >= this.generation) {
      this.#old = this.#young;
      this.#young = new Map();
    }
    this.#young.set(key, value);
  }
  get size(): number {
    return this.#young.size + this.#old.size;
  }
}

/** How the zone came to be signed, for the API and status page. */
export type SigningSource = 'document' | 'api';

/**
 * The keys of one zone at one moment, and the signatures they make. Immutable but for its cache;
 * rebuilt by the key manager (state/dnssec.ts) when a key changes state.
 */
export class ZoneSigner {
  /** The key that signs the zone's data (RFC 4035 §2.2). */
  readonly active: SigningKey;
  /** Every key in the DNSKEY RRset; all of them sign it, and CDS/CDNSKEY (RFC 7344 §4.1). */
  readonly published: readonly SigningKey[];
  /** The keys the parent's DS should name now (CDS/CDNSKEY, RFC 7344 §3): the active one, plus a published successor. */
  readonly parentKeys: readonly SigningKey[];
  readonly #cache = new SignatureCache(20_000);
  readonly #random: () => number;
  readonly #now: () => number;

  constructor(
    readonly origin: string,
    keys: readonly SigningKey[],
    readonly source: SigningSource,
    /** The DNSKEY TTL the key record fixes (enabled through the API), else null. */
    readonly dnskeyTtlSeconds: number | null,
    opts: { random?: () => number; now?: () => number } = {},
  ) {
    const active = keys.find((k) => k.state === 'active');
    if (!active) throw new Error(`zone "${origin}" has no active key`);
    this.active = active;
    this.published = keys;
    this.parentKeys = keys.filter((k) => k.state !== 'retiring');
    this.#random = opts.random ?? Math.random;
    this.#now = opts.now ?? Date.now;
  }

  /** Signatures held in the cache. */
  get cached(): number {
    return this.#cache.size;
  }

  /** The apex's DNSKEY RRset (RFC 4034 §2). */
  dnskeySet(ttl: number): RRset {
    return { owner: this.origin, type: RRType.DNSKEY, ttlSeconds: ttl, rdatas: this.published.map((k) => k.dnskey) };
  }

  /** The apex's CDNSKEY RRset (RFC 7344 §3.2): the keys the parent should hold a DS for. */
  cdnskeySet(ttl: number): RRset {
    return { owner: this.origin, type: RRType.CDNSKEY, ttlSeconds: ttl, rdatas: this.parentKeys.map((k) => k.dnskey) };
  }

  /** The apex's CDS RRset (RFC 7344 §3.1), SHA-256 digests (RFC 8078 §2 asks the parent to follow it). */
  cdsSet(ttl: number): RRset {
    return { owner: this.origin, type: RRType.CDS, ttlSeconds: ttl, rdatas: this.parentKeys.map((k) => dsRdata(this.origin, k.dnskey)) };
  }

  /**
   * The RRSIGs over `set` (RFC 4034 §3), signed under `signOwner` — the owner the validator
   * rebuilds: the stored owner, which for a wildcard answer is `*.<encloser>` (RFC 4035 §5.3.2).
   * The apex key RRsets are signed by every published key, the rest by the active one.
   * Returns cached signatures while they are fresh.
   */
  sign(set: RRset, signOwner: string): Signatures {
    const now = this.#now();
    let key = `${set.type}|${set.ttlSeconds}|${signOwner}`;
    for (const r of set.rdatas) key += '|' + r.toString('latin1');
    const hit = this.#cache.get(key);
    if (hit && now < hit.refreshAt) {
      signatureCounters.cached += hit.rdatas.length;
      return hit;
    }
    const byAll = set.owner === this.origin && (set.type === RRType.DNSKEY || set.type === RRType.CDS || set.type === RRType.CDNSKEY);
    const keys = byAll ? this.published : [this.active];
    const seconds = Math.floor(now / 1000);
    const jitter = (): number => Math.floor(this.#random() * JITTER_SECONDS);
    const expiration = seconds + VALIDITY_SECONDS - jitter();
    const made: Signatures = {
      rdatas: keys.map((k) => this.#signOne(k, set, signOwner, seconds - INCEPTION_SKEW_SECONDS, expiration)),
      refreshAt: (seconds + REFRESH_SECONDS - jitter()) * 1000,
    };
    signatureCounters.made += made.rdatas.length;
    this.#cache.set(key, made);
    return made;
  }

  #signOne(k: SigningKey, set: RRset, signOwner: string, inception: number, expiration: number): Buffer {
    const prefix = rrsigPrefix({
      typeCovered: set.type,
      algorithm: k.algorithm,
      labels: rrsigLabels(signOwner),
      originalTtl: set.ttlSeconds,
      expiration,
      inception,
      keyTag: k.tag,
      signer: this.origin,
    });
    const data = signingData(prefix, signOwner, set.type, set.ttlSeconds, set.rdatas);
    // RFC 6605 §4: ECDSA signatures are r | s, 32 octets each; RFC 8080 §4: Ed25519's are 64 octets.
    const signature =
      k.algorithm === DnssecAlgorithm.ED25519
        ? cryptoSign(null, data, k.privateKey)
        : cryptoSign('sha256', data, { key: k.privateKey, dsaEncoding: 'ieee-p1363' });
    return Buffer.concat([prefix, signature]);
  }
}
