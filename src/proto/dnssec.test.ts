import { describe, expect, it } from 'vitest';
import { compareNames, dnskeyRdata, dsRdata, keyTag, nsecRdata, predecessorKey, rrsigLabels, siblingSuccessorKey, successorKey } from './dnssec.js';
import { formatRdata } from './rdata.js';
import { RRType } from './types.js';

describe('DNSKEY, key tag and DS', () => {
  // RFC 6605 §6.1 and RFC 8080 §6.1 examples (dnssec-dsfromkey agrees).
  it.each([
    [
      'example.net',
      13,
      'GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA==',
      55648,
      'B4C8C1FE2E7477127B27115656AD6256F424625BF5C1E2770CE6D6E37DF61D17',
    ],
    ['example.com', 15, 'l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=', 3613, '3AA5AB37EFCE57F737FC1627013FEE07BDF241BD10F3B1964AB55C78E79A304B'],
  ])('%s algorithm %i: tag and SHA-256 DS as the RFC gives them', (zone, alg, key, tag, digest) => {
    const dnskey = dnskeyRdata(257, alg, Buffer.from(key, 'base64'));
    expect(keyTag(dnskey)).toBe(tag);
    expect(formatRdata(RRType.DS, dsRdata(zone, dnskey))).toBe(`${tag} ${alg} 2 ${digest}`);
  });
});

describe('RRSIG labels (RFC 4034 §3.1.3)', () => {
  it('counts labels without the root or a leading wildcard', () => {
    expect(rrsigLabels('www.example.com')).toBe(3);
    expect(rrsigLabels('*.example.com')).toBe(2);
    expect(rrsigLabels('')).toBe(0);
  });
});

describe('canonical order (RFC 4034 §6.1)', () => {
  it('sorts the RFC example list', () => {
    // RFC 4034 §6.1's list, in order (\200 and \001 as escaped keys).
    const ordered = [
      'example',
      'a.example',
      'yljkjljk.a.example',
      'z.a.example',
      'zabc.a.example',
      'z.example',
      '\\001.z.example',
      '*.z.example',
      '\\200.z.example',
    ];
    const shuffled = [...ordered].reverse();
    expect(shuffled.sort(compareNames)).toEqual(ordered);
  });

  it('puts a successor right after the name and its subtree before a sibling successor', () => {
    const name = 'foo.example';
    expect(compareNames(name, successorKey(name))).toBeLessThan(0);
    expect(successorKey(name)).toBe('\\000.foo.example');
    // Nothing sorts between a name and \000.name: any child label is longer or larger.
    expect(compareNames(successorKey(name), 'a.foo.example')).toBeLessThan(0);
    const sib = siblingSuccessorKey(name);
    expect(sib).toBe('foo\\000.example');
    for (const below of ['a.foo.example', 'zzz.y.foo.example']) expect(compareNames(below, sib)).toBeLessThan(0);
    expect(compareNames(sib, 'fooa.example')).toBeLessThan(0);
  });

  it('makes a predecessor after every ordinary sibling before the name', () => {
    for (const name of ['foo.example', 'b.example', 'x1.example', '[.example']) {
      const pred = predecessorKey(name);
      expect(compareNames(pred, name), pred).toBeLessThan(0);
      // The predecessor is a sibling below the parent, after everything a zone would hold before it.
      expect(compareNames('example', pred)).toBeLessThan(0);
    }
    expect(compareNames('fon.example', predecessorKey('foo.example'))).toBeLessThan(0);
    expect(compareNames('fonzzzz.example', predecessorKey('foo.example'))).toBeLessThan(0);
    // A decremented octet that would be an uppercase letter goes below 'A' (canonical form lowers).
    expect(predecessorKey('[.example').startsWith('@')).toBe(true);
    // \000 as the only octet: the parent itself is the predecessor.
    expect(predecessorKey('\\000.example')).toBe('example');
  });

  it('keeps names within 255 octets', () => {
    const long = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`;
    for (const k of [successorKey(long), predecessorKey(long), siblingSuccessorKey(long)]) {
      const wire = k.split('.').reduce((n, l) => n + 1 + l.replace(/\\\d{3}/g, 'x').length, 1);
      expect(wire).toBeLessThanOrEqual(255);
    }
  });
});

describe('NSEC RDATA (RFC 4034 §4.1)', () => {
  it('is the next name and a type bitmap, NXNAME included (RFC 9824 §2)', () => {
    const rdata = nsecRdata('\\000.nope.example', [RRType.RRSIG, RRType.NSEC, RRType.NXNAME]);
    expect(formatRdata(RRType.NSEC, rdata)).toBe('\\000.nope.example. RRSIG NSEC NXNAME');
  });
});
