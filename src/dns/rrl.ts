/**
 * @module dns/rrl
 * Response rate limiting (RRL) on UDP, in the manner of BIND 9 and Knot DNS: a spoofed-source
 * flood must not turn Meridian into an amplifier aimed at the spoofed address. dns/pipeline.ts asks
 * {@link ResponseRateLimiter.check} before it sends each UDP answer; TCP is never limited (its
 * handshake proves the source), nor is a query with a valid server cookie (dns/cookies.ts).
 *
 * What is counted together — a bucket — is one client network (the source address cut to
 * `ipv4Prefix`, /24, or `ipv6Prefix`, /56: the addresses one attacker target or one resolver
 * farm holds) and one kind of answer to it:
 *
 * | class    | answers                              | counted per                                     |
 * | -------- | ------------------------------------ | ----------------------------------------------- |
 * | answer   | NOERROR with records                 | name and type (a wildcard's answers: the wildcard) |
 * | nodata   | NOERROR, no records of the type      | zone                                            |
 * | nxdomain | the name does not exist              | zone (random names cannot make new buckets)     |
 * | referral | a delegation below one of our zones  | the delegation point                            |
 * | error    | REFUSED, FORMERR, NOTIMP, SERVFAIL …  | client network only                             |
 *
 * Each bucket earns `ratePerSecond` credits a second, up to `ratePerSecond`, and every answer in
 * it costs one, whether it is sent or not. An answer goes out while the bucket is not in debt;
 * otherwise it is limited, and the debt stops at `ratePerSecond × windowSeconds`, so a flood stays
 * limited until it has kept below the rate for up to `windowSeconds` (BIND's
 * responses-per-second and window). A bucket unused for the window starts afresh.
 *
 * Of the limited answers, every `slip`-th goes out "slipped" (0: none; 1: all): as a TC=1 answer
 * with no records, the same size as the query, so a real client behind a spoofed one retries over
 * TCP and is answered there; to a query with a client cookie, as BADCOOKIE with a fresh server
 * cookie instead (RFC 7873 §5.2.3), so it retries over UDP with a cookie that exempts it. The rest
 * are dropped.
 *
 * Sources in `exempt` (by default loopback, which the network cannot spoof: RFC 1122 §3.2.1.3)
 * are never limited. The table of buckets is bounded (two generations, each dropped whole), so a
 * flood from random sources cannot grow memory; nothing here allocates more than a key string and,
 * for a new bucket, one small object.
 */
import { commonPrefix } from '../policy/client.js';
import { parseCidr } from '../policy/prefix-table.js';
import type { LookupResult } from '../zone/lookup.js';

export interface RrlOptions {
  /** Answers a second per bucket; 0 turns rate limiting off. */
  readonly ratePerSecond: number;
  /** Every slip-th limited answer goes out truncated (TC=1) or as BADCOOKIE; 0 drops them all. */
  readonly slip: number;
  /** Seconds of debt a bucket can build up (and how long a bucket is remembered). */
  readonly windowSeconds: number;
  /** Leading bits of an IPv4 source that make its network. */
  readonly ipv4Prefix: number;
  /** Leading bits of an IPv6 source that make its network. */
  readonly ipv6Prefix: number;
  /** Networks (CIDR) that are never limited. */
  readonly exempt: readonly string[];
  /** Buckets per generation of the table (two generations are kept). */
  readonly maxBuckets?: number;
}

/**
 * The defaults, and why: BIND's documentation suggests 5 to 20 identical answers a second per
 * /24, for servers whose answers live a day in caches. Meridian's policy answers live 30 to 60
 * seconds, large resolvers sit many caches behind one /24, and resolvers that send ECS ask once
 * per client subnet, so one name's legitimate rate from one /24 is higher: 100. A resolver above
 * it still gets every second answer as TC=1 and is answered over TCP, and one that sends cookies
 * (BIND 9.11 and later do by default) is never limited once it holds a server cookie.
 */
export const DEFAULT_RRL: RrlOptions = {
  ratePerSecond: 100,
  slip: 2,
  windowSeconds: 15,
  ipv4Prefix: 24,
  ipv6Prefix: 56,
  exempt: ['127.0.0.0/8', '::1/128'],
};

export const RATE_CLASSES = ['answer', 'nodata', 'nxdomain', 'referral', 'error'] as const;
export type RateClass = (typeof RATE_CLASSES)[number];

/** The first character of a rate key names its class. */
const CLASS_OF: Record<string, RateClass> = { a: 'answer', d: 'nodata', n: 'nxdomain', r: 'referral', e: 'error' };

/** The rate key of error answers (REFUSED, FORMERR, NOTIMP, …): one bucket per client network. */
export const ERROR_RATE_KEY = 'e';

/** What response rate limiting counts an answer under ({@link ResponseRateLimiter.check}). */
export function rateKeyOf(result: LookupResult, qtype: number): string {
  switch (result.kind) {
    case 'answer': {
      // The stored owner of the first record: the name itself, or the wildcard that answered it
      // (RFC 4592 §3.3.1 writes the query name as the owner; the bucket is the wildcard's).
      const first = result.records[0];
      const owner = first ? first.set.owner : (result.policy?.record.owner ?? '');
      return `a${qtype}|${owner}`;
    }
    case 'nodata':
      return `d${result.zone.origin}`;
    case 'nxdomain':
      return `n${result.zone.origin}`;
    case 'referral':
      return `r${result.ns.owner}`;
  }
}

/** What to do with one answer. */
export const Verdict = { SEND: 0, DROP: 1, SLIP: 2 } as const;
export type Verdict = (typeof Verdict)[keyof typeof Verdict];

interface Bucket {
  /** Credits: at most the rate; below 0 the bucket is limited. */
  balance: number;
  /** When `balance` was last brought up to date (ms). */
  at: number;
  /** Limited answers so far, for the slip ratio. */
  limited: number;
}

interface Exempt {
  readonly family: 4 | 6;
  readonly bytes: Uint8Array;
  readonly prefix: number;
}

/** Counts of limited answers by class and action (metrics: meridian_dns_rrl_limited_total). */
export type RrlCounts = Record<RateClass, { dropped: number; slipped: number }>;

export class ResponseRateLimiter {
  readonly options: RrlOptions;
  readonly counts: RrlCounts = Object.fromEntries(RATE_CLASSES.map((c) => [c, { dropped: 0, slipped: 0 }])) as RrlCounts;
  /** Answers exempt from limiting because of a valid server cookie or an exempt source. */
  exemptAnswers = 0;
  readonly #exempt: readonly Exempt[];
  readonly #rate: number;
  readonly #floor: number;
  readonly #windowMs: number;
  readonly #generation: number;
  #young = new Map<string, Bucket>();
  #old = new Map<string, Bucket>();

  /** Throws with a reason on a bad option (the CLI checks ranges before). */
  constructor(options: RrlOptions) {
    this.options = options;
    if (!(options.ratePerSecond > 0)) throw new Error('the rate must be positive (0 turns rate limiting off: build no limiter)');
    if (!Number.isInteger(options.slip) || options.slip < 0) throw new Error('slip must be an integer of 0 or more');
    if (!(options.windowSeconds >= 1)) throw new Error('the window must be at least 1 second');
    if (options.ipv4Prefix < 1 || options.ipv4Prefix > 32) throw new Error('the IPv4 prefix must be 1 to 32');
    if (options.ipv6Prefix < 1 || options.ipv6Prefix > 128) throw new Error('the IPv6 prefix must be 1 to 128');
    this.#exempt = options.exempt.map((text) => parseCidr(text));
    this.#rate = options.ratePerSecond;
    this.#floor = -options.ratePerSecond * options.windowSeconds;
    this.#windowMs = options.windowSeconds * 1000;
    this.#generation = options.maxBuckets ?? 50_000;
  }

  /** Buckets in the table now. */
  get buckets(): number {
    return this.#young.size + this.#old.size;
  }

  /** True when answers to `clientIp` are never limited. */
  isExempt(clientIp: Uint8Array): boolean {
    const family = clientIp.length === 4 ? 4 : 6;
    for (const e of this.#exempt) if (e.family === family && commonPrefix(clientIp, e.bytes, e.prefix) >= e.prefix) return true;
    return false;
  }

  /**
   * Counts one UDP answer of `rateKey` to `clientIp` (4 or 16 octets) at `nowMs`, and says whether
   * to send it, drop it or slip it.
   */
  check(clientIp: Uint8Array, rateKey: string, nowMs: number): Verdict {
    if (clientIp.length === 0) return Verdict.SEND;
    if (this.#exempt.length > 0 && this.isExempt(clientIp)) {
      this.exemptAnswers++;
      return Verdict.SEND;
    }
    const key = this.#network(clientIp) + rateKey;
    let b = this.#young.get(key);
    if (b === undefined) {
      b = this.#old.get(key);
      if (b === undefined) b = { balance: this.#rate, at: nowMs, limited: 0 };
      this.#put(key, b);
    }
    const elapsed = nowMs - b.at;
    if (elapsed > this.#windowMs) {
      b.balance = this.#rate;
      b.limited = 0;
    } else if (elapsed > 0) {
      b.balance = Math.min(this.#rate, b.balance + (elapsed * this.#rate) / 1000);
    }
    b.at = nowMs;
    b.balance -= 1;
    if (b.balance >= 0) return Verdict.SEND;
    if (b.balance < this.#floor) b.balance = this.#floor;
    b.limited++;
    const slip = this.options.slip;
    const verdict = slip > 0 && b.limited % slip === 0 ? Verdict.SLIP : Verdict.DROP;
    const counts = this.counts[CLASS_OF[rateKey[0]!] ?? 'error'];
    if (verdict === Verdict.SLIP) counts.slipped++;
    else counts.dropped++;
    return verdict;
  }

  #put(key: string, b: Bucket): void {
    if (this.#young.size >= this.#generation) {
      this.#old = this.#young;
      this.#young = new Map();
    }
    this.#young.set(key, b);
  }

  /** The client's network as the start of a bucket key. */
  #network(ip: Uint8Array): string {
    if (ip.length === 4) {
      const n = ((ip[0]! << 24) | (ip[1]! << 16) | (ip[2]! << 8) | ip[3]!) >>> 0;
      const p = this.options.ipv4Prefix;
      return `${(p === 32 ? n : n & ~(0xffffffff >>> p)) >>> 0}/`;
    }
    const p = this.options.ipv6Prefix;
    let s = '';
    for (let i = 0; i < 16 && i * 8 < p; i++) {
      const bits = p - i * 8;
      const octet = bits >= 8 ? ip[i]! : ip[i]! & (0xff << (8 - bits));
      s += octet.toString(16) + ':';
    }
    return s + '/';
  }
}
