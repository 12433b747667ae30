/**
 * SipHash-2-4 written the obvious way, in BigInt, word for word from the paper (Aumasson and
 * Bernstein, 2012): the independent reference dns/siphash.ts is checked against, and what the e2e
 * tests compute DNS server cookies with (RFC 9018 §4.4) to check the server's.
 */

/** The paper's algorithm, word for word, in BigInt: slow and obviously right. */
export function siphashReference(key: Buffer, m: Buffer): Buffer {
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
