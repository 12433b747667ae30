/**
 * @module policy/prefix-table
 * Longest-prefix match over IPv4 and IPv6 networks, with the ECS scope of the match: the
 * shortest prefix of the client's address for which every address gives the same match
 * (RFC 7871 §7.2.1 — an answer valid for the whole /scope block). Used by the cidr policy and
 * by the CIDR rows of latency tables.
 *
 * The scope of a match on network N (prefix p) is p, unless a longer network sits inside N
 * near the client: then the scope must be long enough to exclude it, which is one bit more than
 * what the client shares with it. A client matching nothing is treated as matching `::/0`.
 * Lookups scan the networks longest first; tables here are operator-written (tens to hundreds).
 */
import { addressBytes, commonPrefix, maskBytes, type Client } from './client.js';

interface Entry<T> {
  readonly family: 4 | 6;
  readonly bytes: Uint8Array;
  readonly prefix: number;
  readonly value: T;
  readonly text: string;
}

export interface PrefixMatch<T> {
  /** The value of the longest network holding the client, or undefined. */
  readonly value: T | undefined;
  /** The network as written, or undefined. */
  readonly network: string | undefined;
  /** ECS scope: leading bits of the client address this result depends on. */
  readonly scope: number;
}

/** Parses `192.0.2.0/24`, `2001:db8::/32` or a bare address; throws with a reason. */
export function parseCidr(text: string): { family: 4 | 6; bytes: Uint8Array; prefix: number } {
  const [addr, prefixText] = text.split('/');
  const parsed = addressBytes(addr ?? '');
  if (!parsed) throw new Error(`"${text}" is not an IP network (write 192.0.2.0/24 or 2001:db8::/32)`);
  const max = parsed.family === 4 ? 32 : 128;
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) throw new Error(`"${text}" has a bad prefix length`);
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (prefix > max) throw new Error(`"${text}" has a prefix longer than ${max} bits`);
  const bytes = maskBytes(parsed.bytes, prefix);
  if (commonPrefix(bytes, parsed.bytes, max) < max)
    throw new Error(`"${text}" has bits set past its prefix length (did you mean ${formatNet(parsed.family, bytes, prefix)}?)`);
  return { family: parsed.family, bytes, prefix };
}

function formatNet(family: 4 | 6, b: Uint8Array, prefix: number): string {
  if (family === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}/${prefix}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i]! << 8) | b[i + 1]!).toString(16));
  return `${groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::')}/${prefix}`;
}

export class PrefixTable<T> {
  readonly #v4: Entry<T>[];
  readonly #v6: Entry<T>[];

  /** Throws on a malformed network or a network given twice. */
  constructor(entries: Iterable<{ network: string; value: T }>) {
    const v4: Entry<T>[] = [];
    const v6: Entry<T>[] = [];
    const seen = new Set<string>();
    for (const { network, value } of entries) {
      const { family, bytes, prefix } = parseCidr(network);
      const canonical = formatNet(family, bytes, prefix);
      if (seen.has(canonical)) throw new Error(`network ${network} is listed twice`);
      seen.add(canonical);
      (family === 4 ? v4 : v6).push({ family, bytes, prefix, value, text: network });
    }
    v4.sort((a, b) => b.prefix - a.prefix);
    v6.sort((a, b) => b.prefix - a.prefix);
    this.#v4 = v4;
    this.#v6 = v6;
  }

  get size(): number {
    return this.#v4.length + this.#v6.length;
  }

  lookup(client: Client): PrefixMatch<T> {
    const list = client.family === 4 ? this.#v4 : this.#v6;
    const max = client.family === 4 ? 32 : 128;
    const addr = client.bytes;
    let match: Entry<T> | undefined;
    let scope = 0;
    // Longest first: every entry before the match is longer and does not hold the client.
    for (const e of list) {
      const shared = commonPrefix(addr, e.bytes, e.prefix);
      if (shared >= e.prefix) {
        match = e;
        break;
      }
      if (shared + 1 > scope) scope = shared + 1;
    }
    if (match && match.prefix > scope) scope = match.prefix;
    return { value: match?.value, network: match?.text, scope: Math.min(scope, max) };
  }
}
