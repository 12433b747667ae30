/** The RR TYPE registry: mnemonics, RFC 3597 §5 TYPEnnn forms, and the constants. */
import { describe, expect, it } from 'vitest';
import { CLASS_IN, RRType, typeFromName, typeToName } from './types.js';

describe('typeFromName', () => {
  it.each([
    ['A', 1],
    ['a', 1],
    ['Aaaa', 28],
    ['NS', 2],
    ['CNAME', 5],
    ['SOA', 6],
    ['PTR', 12],
    ['HINFO', 13],
    ['MX', 15],
    ['TXT', 16],
    ['SRV', 33],
    ['NAPTR', 35],
    ['DNAME', 39],
    ['OPT', 41],
    ['DS', 43],
    ['SSHFP', 44],
    ['RRSIG', 46],
    ['NSEC', 47],
    ['DNSKEY', 48],
    ['TLSA', 52],
    ['SVCB', 64],
    ['HTTPS', 65],
    ['SPF', 99],
    ['IXFR', 251],
    ['AXFR', 252],
    ['ANY', 255],
    ['CAA', 257],
    ['NSAP-PTR', 23],
    // RFC 3597 §5
    ['TYPE1', 1],
    ['type65534', 65534],
    ['TYPE0', 0],
    ['TYPE65535', 65535],
  ])('%s → %i', (text, n) => {
    expect(typeFromName(text)).toBe(n);
  });

  it.each(['', 'FOO', 'TYPE', 'TYPE65536', 'TYPE-1', 'TYPE1x', ' A', 'A ', '1', 'NSAP_PTR'])('rejects %j', (text) => {
    expect(typeFromName(text)).toBeUndefined();
  });
});

describe('typeToName', () => {
  it.each([
    [1, 'A'],
    [28, 'AAAA'],
    [257, 'CAA'],
    [23, 'NSAP-PTR'],
    [65534, 'TYPE65534'],
    [0, 'TYPE0'],
    [54, 'TYPE54'],
  ])('%i → %s', (n, text) => {
    expect(typeToName(n)).toBe(text);
  });

  it('round-trips every registered type through its name', () => {
    for (const n of Object.values(RRType)) expect(typeFromName(typeToName(n))).toBe(n);
  });
});

describe('constants', () => {
  it('match the IANA registry', () => {
    expect(RRType).toMatchObject({ A: 1, NS: 2, SOA: 6, MX: 15, AAAA: 28, OPT: 41, RRSIG: 46, NSEC: 47, IXFR: 251, AXFR: 252, ANY: 255, CAA: 257 });
    expect(CLASS_IN).toBe(1);
  });
});
