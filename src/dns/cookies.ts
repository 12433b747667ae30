/**
 * @module dns/cookies
 * DNS Cookies (RFC 7873) with the interoperable server cookie of RFC 9018: what a query's COOKIE
 * option means and which COOKIE option its response carries. Called by dns/pipeline.ts once per
 * query, over UDP and TCP alike, after proto/wire.ts has refused malformed options (FORMERR,
 * RFC 7873 §5.2.2). Synchronous: the secrets are read from {@link CookieSecrets}.
 *
 * | query's COOKIE option                          | verdict      | response's COOKIE option            |
 * | ---------------------------------------------- | ------------ | ----------------------------------- |
 * | none (§5.2.1)                                  | none         | none                                |
 * | a client cookie only (§5.2.3)                  | client-only  | the client cookie + a new server cookie |
 * | a server cookie that is not ours, stale or     | invalid      | as for a client cookie only (§5.2.4) |
 * | forged (§5.2.4)                                |              |                                     |
 * | a server cookie we made, under half an hour    | valid        | the option as received (§5.2.5 (a)) |
 * | old, with the current secret (§5.2.5)          |              |                                     |
 * | a valid one older than that, or made with the  | valid        | a new server cookie (§5.2.5 (b),    |
 * | next or previous secret                        |              | RFC 9018 §4.3)                      |
 *
 * A client-only or invalid query is answered normally (RFC 7873 §5.2.3 choice 3); only when
 * response rate limiting holds its answer back does it get BADCOOKIE instead of TC=1 (choice 2,
 * dns/rrl.ts). A valid server cookie proves the client saw an earlier answer at that address, so
 * its queries are not rate-limited (RFC 7873 §5.2.5: "defensive measures for spoofed UDP requests,
 * if any, are no longer required").
 *
 * The server cookie (RFC 9018 §4): Version 1, three Reserved octets (0 in ours), a 32-bit
 * Timestamp (Unix seconds), and the 8-octet SipHash-2-4 of Client Cookie | Version | Reserved |
 * Timestamp | Client-IP (4 or 16 octets) under the 16-octet server secret. It is valid from five
 * minutes before its Timestamp until an hour after it (RFC 9018 §4.3, serial-number arithmetic).
 */
import { OPTION_COOKIE, type Query } from '../proto/wire.js';
import type { CookieSecrets } from './cookie-secrets.js';
import { siphash24Into } from './siphash.js';

/** RFC 9018 §4.3: a server cookie is valid this long after its Timestamp. */
export const COOKIE_LIFETIME_SECONDS = 3600;
/** RFC 9018 §4.3: a valid cookie older than this is replaced by a new one. */
export const COOKIE_RENEW_SECONDS = 1800;
/** RFC 9018 §4.3: clock skew allowed: a Timestamp up to this far in the future is accepted. */
export const COOKIE_SKEW_SECONDS = 300;

export type CookieVerdict = 'none' | 'client-only' | 'invalid' | 'valid';

/** The server cookie (16 octets) for a client cookie and address at `timestamp`, made with `secret` (RFC 9018 §4.2). */
export function serverCookie(secret: Uint8Array, clientCookie: Uint8Array, clientIp: Uint8Array, timestamp: number): Buffer {
  const out = Buffer.alloc(16);
  out[0] = 1; // Version
  out.writeUInt32BE(timestamp >>> 0, 4);
  hashInto(out, 8, secret, clientCookie, out, 0, clientIp);
  return out;
}

/** Scratch for the hash input: client cookie (8), version, reserved, timestamp (8), address (4 or 16). */
const input = Buffer.alloc(32);
/** Scratch for a hash to compare. */
const scratch = Buffer.alloc(8);

/**
 * Writes SipHash-2-4(client cookie | Version | Reserved | Timestamp | Client-IP) at `at` in `out`
 * (RFC 9018 §4.4): the client cookie is the first 8 octets of `clientCookie`, the other three the
 * 8 octets of `head` from `headAt`. Copied octet by octet: subarrays cost an object each.
 */
function hashInto(out: Uint8Array, at: number, secret: Uint8Array, clientCookie: Uint8Array, head: Uint8Array, headAt: number, clientIp: Uint8Array): void {
  for (let i = 0; i < 8; i++) {
    input[i] = clientCookie[i]!;
    input[8 + i] = head[headAt + i]!;
  }
  for (let i = 0; i < clientIp.length; i++) input[16 + i] = clientIp[i]!;
  siphash24Into(secret, input, 16 + clientIp.length, out, at);
}

/** Equal octets, compared in time that does not depend on where they differ. */
function sameHash(a: Uint8Array, b: Uint8Array, bAt: number): boolean {
  let d = 0;
  for (let i = 0; i < 8; i++) d |= a[i]! ^ b[bAt + i]!;
  return d === 0;
}

/** Seconds from `timestamp` to `now`, in serial-number arithmetic (RFC 1982): negative when it lies ahead. */
function ageOf(timestamp: number, now: number): number {
  return ((now - timestamp) | 0) as number;
}

/** Queries with a COOKIE option, by verdict, and BADCOOKIE answers (metrics: meridian_dns_cookies_total). */
export interface CookieCounts {
  'client-only': number;
  invalid: number;
  valid: number;
  /** BADCOOKIE answers sent (in place of a rate-limited answer). */
  badcookie: number;
}

/** What the pipeline learns from a query's COOKIE option. */
export interface CookieResult {
  readonly verdict: CookieVerdict;
  /** The response's COOKIE option, code and length included; null when the query had none. */
  readonly option: Buffer | null;
}

/** The query path's cookie handling: the secrets, the clock and the counts. */
export class CookieJar {
  readonly counts: CookieCounts = { 'client-only': 0, invalid: 0, valid: 0, badcookie: 0 };

  constructor(
    readonly secrets: CookieSecrets,
    private readonly now: () => number = () => Math.floor(Date.now() / 1000),
  ) {}

  /**
   * Judges the COOKIE option of `query` (already checked for length by proto/wire.ts) from a
   * client at `clientIp` (4 or 16 octets) and makes the option the response carries.
   */
  judge(query: Query, clientIp: Uint8Array): CookieResult {
    const sent = query.edns?.cookie ?? null;
    if (sent === null) return NO_COOKIE;
    const now = this.now();
    let verdict: CookieVerdict = sent.length === 8 ? 'client-only' : 'invalid';
    let reply: Buffer | null = null;
    // Ours is 16 octets of version 1 (RFC 9018 §4); any other server cookie is some other
    // server's, which we cannot check: treated as a client cookie only (RFC 7873 §5.2.4).
    if (sent.length === 24 && sent[8] === 1 && clientIp.length > 0) {
      const age = ageOf(sent.readUInt32BE(12), now);
      if (age <= COOKIE_LIFETIME_SECONDS && age >= -COOKIE_SKEW_SECONDS) {
        const accepted = this.secrets.accepted;
        for (let i = 0; i < accepted.length; i++) {
          hashInto(scratch, 0, accepted[i]!, sent, sent, 8, clientIp);
          if (sameHash(scratch, sent, 16)) {
            verdict = 'valid';
            // §5.2.5 (a): the same cookie back while it is young and made with the current secret.
            if (i === 0 && age < COOKIE_RENEW_SECONDS) reply = cookieOption(sent);
            break;
          }
        }
      }
    }
    this.counts[verdict]++;
    if (reply === null) {
      if (clientIp.length === 0) return { verdict, option: null };
      // The option: code, length 24, the client cookie, then Version 1, Reserved 0, Timestamp, hash.
      reply = Buffer.allocUnsafe(28);
      reply.writeUInt16BE(OPTION_COOKIE, 0);
      reply.writeUInt16BE(24, 2);
      sent.copy(reply, 4, 0, 8);
      reply.writeUInt32BE(0x01000000, 12);
      reply.writeUInt32BE(now >>> 0, 16);
      hashInto(reply, 20, this.secrets.current, sent, reply, 12, clientIp);
    }
    return { verdict, option: reply };
  }
}

const NO_COOKIE: CookieResult = { verdict: 'none', option: null };

/** The COOKIE option (code 10, length, data) for `data`. */
function cookieOption(data: Buffer): Buffer {
  const out = Buffer.allocUnsafe(4 + data.length);
  out.writeUInt16BE(OPTION_COOKIE, 0);
  out.writeUInt16BE(data.length, 2);
  data.copy(out, 4);
  return out;
}
