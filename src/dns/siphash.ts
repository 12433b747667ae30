/**
 * @module dns/siphash
 * SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012), the pseudorandom
 * function RFC 9018 §4.4 fixes for the DNS server cookie. Called by dns/cookies.ts once or twice
 * per query that carries a COOKIE option, so it works on 32-bit halves in local variables: no
 * BigInt, and no allocation with {@link siphash24Into}.
 */

/** The 64-bit SipHash-2-4 of `data` under the 16-octet `key`, as the 8 octets of the reference output (little-endian). */
export function siphash24(key: Uint8Array, data: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(8);
  siphash24Into(key, data, data.length, out, 0);
  return out;
}

/**
 * SipHash-2-4 of the first `len` octets of `data` under `key`, written into `out` at `offset` (8
 * octets). One function with
 * the state in locals and one copy of the round: closures over the state would keep it in a heap
 * context, several times slower on the query path.
 */
export function siphash24Into(key: Uint8Array, data: Uint8Array, len: number, out: Uint8Array, offset: number): void {
  if (key.length !== 16) throw new Error('a SipHash key is 16 octets');
  const k0l = le32(key, 0);
  const k0h = le32(key, 4);
  const k1l = le32(key, 8);
  const k1h = le32(key, 12);
  // "somepseudorandomlygeneratedbytes" (the paper, §2.1).
  let v0l = (k0l ^ 0x70736575) >>> 0;
  let v0h = (k0h ^ 0x736f6d65) >>> 0;
  let v1l = (k1l ^ 0x6e646f6d) >>> 0;
  let v1h = (k1h ^ 0x646f7261) >>> 0;
  let v2l = (k0l ^ 0x6e657261) >>> 0;
  let v2h = (k0h ^ 0x6c796765) >>> 0;
  let v3l = (k1l ^ 0x79746573) >>> 0;
  let v3h = (k1h ^ 0x74656462) >>> 0;
  const whole = len - (len % 8);
  // Blocks of 8 octets, then the last block (the remaining octets, the length's low octet on
  // top), then the finalization: 2 rounds per block, 4 at the end.
  const blocks = whole / 8 + 1;
  let ml = 0;
  let mh = 0;
  let t = 0;
  for (let b = 0; b <= blocks; b++) {
    let rounds = 2;
    if (b < blocks - 1) {
      ml = le32(data, b * 8);
      mh = le32(data, b * 8 + 4);
    } else if (b === blocks - 1) {
      ml = 0;
      mh = (len & 0xff) << 24;
      for (let i = whole; i < len; i++) {
        const shift = (i - whole) * 8;
        if (shift < 32) ml |= data[i]! << shift;
        else mh |= data[i]! << (shift - 32);
      }
      ml >>>= 0;
      mh >>>= 0;
    } else {
      v2l = (v2l ^ 0xff) >>> 0;
      rounds = 4;
    }
    if (rounds === 2) {
      v3l = (v3l ^ ml) >>> 0;
      v3h = (v3h ^ mh) >>> 0;
    }
    for (let r = 0; r < rounds; r++) {
      // v0 += v1; v1 = rotl(v1, 13) ^ v0; v0 = rotl(v0, 32)
      t = (v0l + v1l) >>> 0;
      v0h = (v0h + v1h + (t < v0l ? 1 : 0)) >>> 0;
      v0l = t;
      t = ((v1l << 13) | (v1h >>> 19)) >>> 0;
      v1h = (((v1h << 13) | (v1l >>> 19)) ^ v0h) >>> 0;
      v1l = (t ^ v0l) >>> 0;
      t = v0l;
      v0l = v0h;
      v0h = t;
      // v2 += v3; v3 = rotl(v3, 16) ^ v2
      t = (v2l + v3l) >>> 0;
      v2h = (v2h + v3h + (t < v2l ? 1 : 0)) >>> 0;
      v2l = t;
      t = ((v3l << 16) | (v3h >>> 16)) >>> 0;
      v3h = (((v3h << 16) | (v3l >>> 16)) ^ v2h) >>> 0;
      v3l = (t ^ v2l) >>> 0;
      // v0 += v3; v3 = rotl(v3, 21) ^ v0
      t = (v0l + v3l) >>> 0;
      v0h = (v0h + v3h + (t < v0l ? 1 : 0)) >>> 0;
      v0l = t;
      t = ((v3l << 21) | (v3h >>> 11)) >>> 0;
      v3h = (((v3h << 21) | (v3l >>> 11)) ^ v0h) >>> 0;
      v3l = (t ^ v0l) >>> 0;
      // v2 += v1; v1 = rotl(v1, 17) ^ v2; v2 = rotl(v2, 32)
      t = (v2l + v1l) >>> 0;
      v2h = (v2h + v1h + (t < v2l ? 1 : 0)) >>> 0;
      v2l = t;
      t = ((v1l << 17) | (v1h >>> 15)) >>> 0;
      v1h = (((v1h << 17) | (v1l >>> 15)) ^ v2h) >>> 0;
      v1l = (t ^ v2l) >>> 0;
      t = v2l;
      v2l = v2h;
      v2h = t;
    }
    if (rounds === 2) {
      v0l = (v0l ^ ml) >>> 0;
      v0h = (v0h ^ mh) >>> 0;
    }
  }
  const lo = (v0l ^ v1l ^ v2l ^ v3l) >>> 0;
  const hi = (v0h ^ v1h ^ v2h ^ v3h) >>> 0;
  out[offset] = lo & 0xff;
  out[offset + 1] = (lo >>> 8) & 0xff;
  out[offset + 2] = (lo >>> 16) & 0xff;
  out[offset + 3] = lo >>> 24;
  out[offset + 4] = hi & 0xff;
  out[offset + 5] = (hi >>> 8) & 0xff;
  out[offset + 6] = (hi >>> 16) & 0xff;
  out[offset + 7] = hi >>> 24;
}

function le32(b: Uint8Array, off: number): number {
  return (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16) | (b[off + 3]! << 24)) >>> 0;
}
