/**
 * SipHash-2-4 (dns/siphash.ts) against the paper's test vectors (Appendix A, key 00..0f, messages
 * 00, 00 01, …) and against a straightforward 64-bit BigInt transcription of the paper's
 * pseudocode, over random keys and messages of every length up to 70 octets.
 */
import { describe, expect, it } from 'vitest';
import { siphash24 } from './siphash.js';
import { siphashReference as reference } from '../../test/support/siphash.js';

const paperKey = Buffer.from(Array.from({ length: 16 }, (_, i) => i));
const upTo = (n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => i));

describe('SipHash-2-4', () => {
  it("gives the paper's outputs for key 00..0f (Appendix A)", () => {
    // The empty message, the 8-octet 00..07 (the reference implementation's vectors.h) and the 15-octet
    // 00..0e of the paper's Appendix A.
    expect(siphash24(paperKey, upTo(0)).toString('hex')).toBe('310e0edd47db6f72');
    expect(siphash24(paperKey, upTo(15)).toString('hex')).toBe('e545be4961ca29a1');
    expect(siphash24(paperKey, upTo(8)).toString('hex')).toBe('6224939a79f5f593');
  });

  it("agrees with the paper's pseudocode over random keys and every message length to 70", () => {
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
