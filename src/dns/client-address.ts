/**
 * @module dns/client-address
 * The source address of a query as octets: 4 for IPv4 (an IPv4-mapped IPv6 address counts as
 * IPv4, as policy/client.ts reads it), 16 for IPv6. DNS cookies hash it (RFC 9018 §4.2) and
 * response rate limiting keys its buckets by its network (dns/rrl.ts). The transports give it as
 * text; a resolver sends many queries from one address, so the last few thousand are remembered.
 */
import { addressBytes } from '../policy/client.js';

const EMPTY = new Uint8Array(0);
const MAX_REMEMBERED = 4096;
let remembered = new Map<string, Uint8Array>();

/** The octets of an IP address in text form; empty when the text is not an address. */
export function addressOctets(text: string): Uint8Array {
  const hit = remembered.get(text);
  if (hit) return hit;
  const plain = text.startsWith('::ffff:') && text.includes('.') ? text.slice(7) : text;
  const parsed = addressBytes(plain);
  const octets = parsed === null ? EMPTY : parsed.family === 4 ? parsed.bytes.slice(0, 4) : parsed.bytes;
  // Dropped whole when full: a flood from random sources cannot grow it, and it costs nothing per query.
  if (remembered.size >= MAX_REMEMBERED) remembered = new Map();
  remembered.set(text, octets);
  return octets;
}
