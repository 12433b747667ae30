/**
 * @module policy/client
 * Who the answer is for: the EDNS Client Subnet when the query carried one (RFC 7871 §7.1.1),
 * else the address the query came from. Policies read the address as 16 octets (IPv4 in the first
 * four) plus the number of leading bits that are known (`sourcePrefix`); every bit past it is
 * zero. A policy reads the address as it is, zeros included, and its ECS scope is the number of
 * leading bits its answer depended on: that may be more than the source prefix (RFC 7871 §7.2.1,
 * "not specific enough"), never less than what the answer really read.
 */
import { isIPv4, isIPv6 } from 'node:net';

export interface Client {
  /** 4 or 6. */
  readonly family: 4 | 6;
  /** The address, zero past `sourcePrefix`; 4 octets used for IPv4, 16 for IPv6. */
  readonly bytes: Uint8Array;
  /** Known leading bits: the ECS source prefix, or 32 / 128 for the packet's own address. */
  readonly sourcePrefix: number;
  /** True when the address came from an ECS option (so the answer carries a scope). */
  readonly fromEcs: boolean;
  /** The address in text form, for geoip-lite and messages. */
  readonly text: string;
}

/** A client that matches nothing (no address known); used by transfers and the simulator's default. */
export const UNKNOWN_CLIENT: Client = { family: 4, bytes: new Uint8Array(16), sourcePrefix: 0, fromEcs: false, text: '0.0.0.0' };

function ipv4Text(b: Uint8Array): string {
  return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}

function ipv6Text(b: Uint8Array): string {
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2) parts.push(((b[i]! << 8) | b[i + 1]!).toString(16));
  return parts.join(':');
}

/** A client from the query path: the text form is made only if a policy asks for it. */
class LazyClient implements Client {
  #text: string | undefined;
  constructor(
    readonly family: 4 | 6,
    readonly bytes: Uint8Array,
    readonly sourcePrefix: number,
    readonly fromEcs: boolean,
  ) {}
  get text(): string {
    return (this.#text ??= this.family === 4 ? ipv4Text(this.bytes) : ipv6Text(this.bytes));
  }
}

/** A client from ECS (RFC 7871 §6): family 1 = IPv4, 2 = IPv6; `address` holds ceil(prefix/8) octets. */
export function clientFromEcs(family: number, sourcePrefix: number, address: Uint8Array): Client {
  const bytes = new Uint8Array(16);
  bytes.set(address.subarray(0, family === 1 ? 4 : 16));
  return new LazyClient(family === 1 ? 4 : 6, bytes, sourcePrefix, true);
}

/** Parses IPv4 or IPv6 text into 16 octets; null when it is not an address. */
export function addressBytes(text: string): { family: 4 | 6; bytes: Uint8Array } | null {
  if (isIPv4(text)) {
    const bytes = new Uint8Array(16);
    text.split('.').forEach((p, i) => (bytes[i] = Number(p)));
    return { family: 4, bytes };
  }
  if (!isIPv6(text)) return null;
  let s = text;
  const zone = s.indexOf('%');
  if (zone !== -1) s = s.slice(0, zone);
  // An embedded IPv4 tail (::ffff:192.0.2.1) becomes two groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const o = v4[1]!.split('.').map(Number);
    s = s.slice(0, v4.index) + `${((o[0]! << 8) | o[1]!).toString(16)}:${((o[2]! << 8) | o[3]!).toString(16)}`;
  }
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    bytes[i * 2] = v >> 8;
    bytes[i * 2 + 1] = v & 0xff;
  });
  return { family: 6, bytes };
}

/** A client from the packet's source address; an IPv4-mapped IPv6 address counts as IPv4. */
export function clientFromAddress(text: string): Client {
  const plain = text.startsWith('::ffff:') && text.includes('.') ? text.slice(7) : text;
  const parsed = addressBytes(plain);
  if (!parsed) return UNKNOWN_CLIENT;
  return { family: parsed.family, bytes: parsed.bytes, sourcePrefix: parsed.family === 4 ? 32 : 128, fromEcs: false, text: plain };
}

/**
 * A client from the packet's source address as octets (4 for IPv4, 16 for IPv6), as the batched
 * UDP path (dns/udp-batched.ts) hands it over: no text is parsed, and the text form is made only
 * if a policy asks for it. An IPv4-mapped IPv6 address counts as IPv4, as in {@link clientFromAddress}.
 */
export function clientFromBytes(family: 4 | 6, address: Uint8Array): Client {
  const bytes = new Uint8Array(16);
  if (family === 6 && address[10] === 0xff && address[11] === 0xff && address.subarray(0, 10).every((b) => b === 0)) {
    bytes.set(address.subarray(12, 16));
    return new LazyClient(4, bytes, 32, false);
  }
  bytes.set(address.subarray(0, family === 4 ? 4 : 16));
  return new LazyClient(family, bytes, family === 4 ? 32 : 128, false);
}

/**
 * A client from an address or CIDR text (`192.0.2.0/24`), as the simulator and tests write it;
 * bits past the prefix are cleared. Null when the text is not one.
 */
export function clientFromText(text: string, asEcs = true): Client | null {
  const [addr, prefixText] = text.split('/');
  const parsed = addressBytes(addr ?? '');
  if (!parsed) return null;
  const max = parsed.family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || (prefixText !== undefined && !/^\d+$/.test(prefixText))) return null;
  const bytes = maskBytes(parsed.bytes, prefix);
  const v4 = parsed.family === 4;
  return { family: parsed.family, bytes, sourcePrefix: prefix, fromEcs: asEcs, text: v4 ? ipv4Text(bytes) : ipv6Text(bytes) };
}

/**
 * The EDNS Client Subnet option (RFC 7871 §6) that stands for a client: FAMILY 1 or 2, its
 * source prefix, and the address in ceil(prefix / 8) octets (bits past the prefix are already
 * zero, as {@link clientFromText} leaves them). What the simulator and drills send.
 */
export function clientSubnetOption(c: Client): { family: 1 | 2; sourcePrefix: number; address: Buffer } {
  return { family: c.family === 4 ? 1 : 2, sourcePrefix: c.sourcePrefix, address: Buffer.from(c.bytes.subarray(0, Math.ceil(c.sourcePrefix / 8))) };
}

/** A copy of `bytes` with every bit past `prefix` cleared. */
export function maskBytes(bytes: Uint8Array, prefix: number): Uint8Array {
  const out = new Uint8Array(16);
  const whole = prefix >> 3;
  out.set(bytes.subarray(0, whole));
  const rest = prefix & 7;
  if (rest) out[whole] = bytes[whole]! & (0xff << (8 - rest));
  return out;
}

/** Number of leading bits that `a` and `b` share, up to `max`. */
export function commonPrefix(a: Uint8Array, b: Uint8Array, max: number): number {
  let n = 0;
  for (let i = 0; n < max; i++) {
    const x = a[i]! ^ b[i]!;
    if (x === 0) {
      n += 8;
      continue;
    }
    return Math.min(max, n + Math.clz32(x) - 24);
  }
  return max;
}
