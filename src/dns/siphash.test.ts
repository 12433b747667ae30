/**
 * SipHash-2-4 (dns/siphash.ts) against the paper's test vectors (Appendix A, key 00..0f, messages
 * 00, 00 01, …) and against a straightforward 64-bit BigInt transcription of the paper's
 * pseudocode, over random keys and messages of every length up to 70 octets.
 */
import { describe, expect, it } from 'vitest';
import { siphash24 } from './siphash.js';

/** The paper's algorithm, word for word, in BigInt: slow and obviously right. */
function reference(key: Buffer, m: Buffer): Buffer {
  const mask = (1n << 64n) - 1n;
  const rotl = (x: bigint, b: bigint): bigint => ((x << b) | (x >> (64n - b))) & mask;
  const k0 = key.readBigUInt64LE(0);
  const k1 = key.readBigUInt64LE(8);
  let v0 = k0 ^ 0x736f6d6570736575n;
  let v1 = k1 ^ 0x646f72616e646f6dn;
  let v2 = k0 ^ 0x6c7967656e657261n;
  let v3 = k1 ^ 0x7465646279746573n;
  const round = (): void => {
    v0 = (v0 + v1) & mask;
    v1 = rotl(v1, 13n) ^ v0;
    v0 = rotl(v0, 32n);
    v2 = (v2 + v3) & mask;
    v3 = rotl(v3, 16n) ^ v2;
    v0 = (v0 + v3) & mask;
    v3 = rotl(v3, 21n) ^ v0;
    v2 = (v2 + v1) & mask;
    v1 = rotl(v1, 17n) ^ v2;
    v2 = rotl(v2, 32n);
  };
  const whole = m.length - (m.length % 8);
  const block = (x: bigint): void => {
    v3 ^= x;
    round();
    round();
    v0 ^= x;
  };
  for (let i = 0; i < whole; i += 8) block(m.readBigUInt64LE(i));
  let last = BigInt(m.length & 0xff) << 56n;
  for (let i = whole; i < m.length; i++) last |= BigInt(m[i]!) << BigInt(8 * (i - whole));
  block(last);
  v2 ^= 0xffn;
  for (let i = 0; i < 4; i++) round();
  const out = Buffer.alloc(8);
  out.writeBigUInt64LE((v0 ^ v1 ^ v2 ^ v3) & mask);
  return out;
}

const paperKey = Buffer.from(Array.from({ length: 16 }, (_, i) => i));
const upTo = (n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => i));

describe('SipHash-2-4', () => {
  it('gives the paper\'s outputs for key 00..0f (Appendix A)', () => {
    // The empty message, the 8-octet 00..07 (the reference implementation's vectors.h) and the 15-octet
    // 00..0e of the paper's Appendix A.
    expect(siphash24(paperKey, upTo(0)).toString('hex')).toBe('310e0edd47db6f72');
    expect(siphash24(paperKey, upTo(15)).toString('hex')).toBe('e545be4961ca29a1');
    expect(siphash24(paperKey, upTo(8)).toString('hex')).toBe('6224939a79f5f593');
  });

  it('agrees with the paper\'s pseudocode over random keys and every message length to 70', () => {
    let seed = 7;
    const rand = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed & 0xff;
    };
    for (let n = 0; n < 1400; n++) {
      const key = Buffer.from(Array.from({ length: 16 }, rand));
      const msg = Buffer.from(Array.from({ length: n % 71 }, rand));
      expect(siphash24(key, msg).toString('hex'), `length ${msg.length}`).toBe(reference(key, msg).toString('hex'));
    }
  });

  it('refuses a key that is not 16 octets', () => {
    expect(() => siphash24(Buffer.alloc(15), Buffer.alloc(0))).toThrow(/16 octets/);
  });
});
