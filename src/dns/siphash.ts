/**
 * @module dns/siphash
 * SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012), the pseudorandom
 * function RFC 9018 §4.4 fixes for the DNS server cookie. Called by dns/cookies.ts once or twice
 * per query that carries a COOKIE option, so it works on 32-bit halves in local variables: no
 * BigInt, no allocation but the 8-octet result.
 */

/** The 64-bit SipHash-2-4 of `data` under the 16-octet `key`, as the 8 octets of the reference output (little-endian). */
export function siphash24(key: Uint8Array, data: Uint8Array): Buffer {
  if (key.length !== 16) throw new Error('a SipHash key is 16 octets');
  const k0l = le32(key, 0);
  const k0h = le32(key, 4);
  const k1l = le32(key, 8);
  const k1h = le32(key, 12);
  // "somepseudorandomlygeneratedbytes" (the paper, §2.1).
  let v0l = k0l ^ 0x70736575;
  let v0h = k0h ^ 0x736f6d65;
  let v1l = k1l ^ 0x6e646f6d;
  let v1h = k1h ^ 0x646f7261;
  let v2l = k0l ^ 0x6e657261;
  let v2h = k0h ^ 0x6c796765;
  let v3l = k1l ^ 0x79746573;
  let v3h = k1h ^ 0x74656462;

  const len = data.length;
  const whole = len - (len % 8);
  let ml = 0;
  let mh = 0;
  let t = 0;
  // One SipRound on the four 64-bit words (each a high and a low 32-bit half). XOR and shifts give
  // signed 32-bit values, so every addition reads its low halves unsigned (>>> 0) for the carry.
  const round = (): void => {
    // v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32)
    t = ((v0l >>> 0) + (v1l >>> 0)) >>> 0;
    v0h = (v0h + v1h + (t < v0l >>> 0 ? 1 : 0)) >>> 0;
    v0l = t;
    t = (v1l << 13) | (v1h >>> 19);
    v1h = ((v1h << 13) | (v1l >>> 19)) ^ v0h;
    v1l = t ^ v0l;
    t = v0l;
    v0l = v0h;
    v0h = t;
    // v2 += v3; v3 = rotl(v3, 16); v3 ^= v2
    t = ((v2l >>> 0) + (v3l >>> 0)) >>> 0;
    v2h = (v2h + v3h + (t < v2l >>> 0 ? 1 : 0)) >>> 0;
    v2l = t;
    t = (v3l << 16) | (v3h >>> 16);
    v3h = ((v3h << 16) | (v3l >>> 16)) ^ v2h;
    v3l = t ^ v2l;
    // v0 += v3; v3 = rotl(v3, 21); v3 ^= v0
    t = ((v0l >>> 0) + (v3l >>> 0)) >>> 0;
    v0h = (v0h + v3h + (t < v0l >>> 0 ? 1 : 0)) >>> 0;
    v0l = t;
    t = (v3l << 21) | (v3h >>> 11);
    v3h = ((v3h << 21) | (v3l >>> 11)) ^ v0h;
    v3l = t ^ v0l;
    // v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32)
    t = ((v2l >>> 0) + (v1l >>> 0)) >>> 0;
    v2h = (v2h + v1h + (t < v2l >>> 0 ? 1 : 0)) >>> 0;
    v2l = t;
    t = (v1l << 17) | (v1h >>> 15);
    v1h = ((v1h << 17) | (v1l >>> 15)) ^ v2h;
    v1l = t ^ v2l;
    t = v2l;
    v2l = v2h;
    v2h = t;
  };
  const compress = (): void => {
    v3l ^= ml;
    v3h ^= mh;
    round();
    round();
    v0l ^= ml;
    v0h ^= mh;
  };
  for (let i = 0; i < whole; i += 8) {
    ml = le32(data, i);
    mh = le32(data, i + 4);
    compress();
  }
  // The last block: the remaining octets, and the length's low octet in the top octet.
  ml = 0;
  mh = (len & 0xff) << 24;
  for (let i = whole; i < len; i++) {
    const shift = (i - whole) * 8;
    if (shift < 32) ml |= data[i]! << shift;
    else mh |= data[i]! << (shift - 32);
  }
  compress();
  v2l ^= 0xff;
  round();
  round();
  round();
  round();
  const out = Buffer.allocUnsafe(8);
  out.writeUInt32LE((v0l ^ v1l ^ v2l ^ v3l) >>> 0, 0);
  out.writeUInt32LE((v0h ^ v1h ^ v2h ^ v3h) >>> 0, 4);
  return out;
}

function le32(b: Uint8Array, off: number): number {
  return (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16) | (b[off + 3]! << 24)) >>> 0;
}
