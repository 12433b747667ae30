/**
 * RDATA presentation ⇄ wire. The expected bytes are written out by hand for the tricky cases and
 * checked independently against dns-packet's full-packet decoder for every type it knows.
 */
import dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { RRType, typeFromName } from './types.js';
import { formatRdata, parseRdata, parseRdataText, rdataTargetKey, soaFields, withSoaSerial } from './rdata.js';
import { parseTtlUnits } from './duration.js';

const ORIGIN = 'example.org';
const t = (name: string): number => typeFromName(name)!;
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
/** `example.org.` in wire form. */
const EX = '076578616d706c65 036f7267 00';

const ED25519_KEY = 'l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=';
const DS_DIGEST = 'D4B7D520E7BB5F0F67674A0CCEB1E3E0614B93C4F9E99B8383F6A1E4469DA50A';
const SHA256 = '0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF';

/** [type, presentation text, expected wire hex (or null: checked by round-trip/dns-packet only), canonical formatted text]. */
const CASES: [string, string, string | null, string][] = [
  ['A', '192.0.2.1', 'c0000201', '192.0.2.1'],
  ['A', '0.0.0.0', '00000000', '0.0.0.0'],
  ['AAAA', '2001:db8::1', '20010db8 00000000 00000000 00000001', '2001:db8::1'],
  ['AAAA', '::', '00'.repeat(16), '::'],
  ['AAAA', '::1', '00'.repeat(15) + '01', '::1'],
  ['AAAA', '1::', '0001' + '00'.repeat(14), '1::'],
  ['AAAA', '2001:DB8:0:0:1:0:0:1', '20010db8 00000000 00010000 00000001', '2001:db8::1:0:0:1'],
  ['AAAA', '::ffff:192.0.2.1', '00000000 00000000 0000ffff c0000201', '::ffff:c000:201'],
  ['AAAA', '64:ff9b::192.0.2.33', '0064ff9b 00000000 00000000 c0000221', '64:ff9b::c000:221'],
  ['AAAA', '1:2:3:4:5:6:7:8', '0001000200030004 0005000600070008', '1:2:3:4:5:6:7:8'],
  ['AAAA', '1:0:0:2:0:0:0:3', '0001000000000002 0000000000000003', '1:0:0:2::3'],
  ['NS', 'ns1', '036e7331' + EX, 'ns1.example.org.'],
  ['NS', 'ns.example.net.', '026e73 076578616d706c65 036e6574 00', 'ns.example.net.'],
  ['CNAME', '@', EX, 'example.org.'],
  ['CNAME', 'WWW.Example.ORG.', '03575757 074578616d706c65 034f5247 00', 'WWW.Example.ORG.'],
  ['CNAME', 'a\\.b', '03612e62' + EX, 'a\\.b.example.org.'],
  ['CNAME', 'a\\032b.', '03612062 00', 'a\\032b.'],
  ['CNAME', '.', '00', '.'],
  ['DNAME', 'example.net.', '076578616d706c65 036e6574 00', 'example.net.'],
  ['PTR', 'www.example.org.', '03777777' + EX, 'www.example.org.'],
  ['MX', '10 Mail', '000a 044d61696c' + EX, '10 Mail.example.org.'],
  ['MX', '0 .', '0000 00', '0 .'],
  [
    'SOA',
    'ns1 hostmaster 2024010101 1h 15m 2w 5m',
    '036e7331' + EX + '0a686f73746d6173746572' + EX + '78a3f175 00000e10 00000384 00127500 0000012c',
    'ns1.example.org. hostmaster.example.org. 2024010101 3600 900 1209600 300',
  ],
  ['SOA', 'ns1. john\\.doe.example.org. 1 2 3 4 5', null, 'ns1. john\\.doe.example.org. 1 2 3 4 5'],
  ['TXT', '"v=spf1 -all"', '0b763d73706631202d616c6c', '"v=spf1 -all"'],
  ['TXT', '"a\\"b" "\\\\" "\\065"', '03612262 015c 0141', '"a\\"b" "\\\\" "A"'],
  ['TXT', '""', '00', '""'],
  ['TXT', 'unquoted words', '08756e71756f746564 05776f726473', '"unquoted" "words"'],
  ['TXT', '"tab\\009nul\\000é"', '0a 746162 09 6e756c 00 c3a9', '"tab\\009nul\\000\\195\\169"'],
  ['TXT', `"${'x'.repeat(255)}" "y"`, 'ff' + '78'.repeat(255) + '0179', `"${'x'.repeat(255)}" "y"`],
  ['SPF', '"v=spf1 -all"', '0b763d73706631202d616c6c', '"v=spf1 -all"'],
  ['HINFO', '"INTEL-386" UNIX', '09494e54454c2d333836 04554e4958', '"INTEL-386" "UNIX"'],
  ['SRV', '0 5 5060 sip.example.org.', '0000 0005 13c4 03736970' + EX, '0 5 5060 sip.example.org.'],
  ['SRV', '10 60 5060 .', '000a 003c 13c4 00', '10 60 5060 .'],
  [
    'NAPTR',
    '100 10 "u" "E2U+sip" "!^.*$!sip:info@example.org!" .',
    '0064 000a 0175 074532552b736970 1b215e2e2a24217369703a696e666f406578616d706c652e6f726721 00',
    '100 10 "u" "E2U+sip" "!^.*$!sip:info@example.org!" .',
  ],
  ['NAPTR', '100 50 "s" "SIP+D2U" "" _sip._udp', null, '100 50 "s" "SIP+D2U" "" _sip._udp.example.org.'],
  ['CAA', '0 issue "letsencrypt.org"', '00 05 6973737565 6c657473656e63727970742e6f7267', '0 issue "letsencrypt.org"'],
  ['CAA', '128 iodef "mailto:security@example.org"', null, '128 iodef "mailto:security@example.org"'],
  ['CAA', '0 issue ";"', '00 05 6973737565 3b', '0 issue ";"'],
  ['CAA', `0 issue "${'c'.repeat(300)}"`, '00 05 6973737565' + '63'.repeat(300), `0 issue "${'c'.repeat(300)}"`],
  ['DS', `60485 13 2 ${DS_DIGEST}`, 'ec45 0d 02' + DS_DIGEST, `60485 13 2 ${DS_DIGEST}`],
  ['DS', `60485 ECDSAP256SHA256 2 ${DS_DIGEST.slice(0, 32).toLowerCase()} ${DS_DIGEST.slice(32)}`, 'ec45 0d 02' + DS_DIGEST, `60485 13 2 ${DS_DIGEST}`],
  ['CDS', `60485 13 2 ${DS_DIGEST}`, 'ec45 0d 02' + DS_DIGEST, `60485 13 2 ${DS_DIGEST}`],
  ['SSHFP', `4 2 ${SHA256}`, '04 02' + SHA256, `4 2 ${SHA256}`],
  ['TLSA', `3 1 1 ${SHA256}`, '03 01 01' + SHA256, `3 1 1 ${SHA256}`],
  ['DNSKEY', `257 3 15 ${ED25519_KEY}`, '0101 03 0f' + Buffer.from(ED25519_KEY, 'base64').toString('hex'), `257 3 15 ${ED25519_KEY}`],
  ['DNSKEY', `256 3 ED25519 ${ED25519_KEY.slice(0, 20)} ${ED25519_KEY.slice(20)}`, null, `256 3 15 ${ED25519_KEY}`],
  ['CDNSKEY', `257 3 15 ${ED25519_KEY}`, null, `257 3 15 ${ED25519_KEY}`],
  [
    'RRSIG',
    `A 13 2 3600 20260101000000 20251201000000 60485 example.org. ${ED25519_KEY}`,
    '0001 0d 02 00000e10 6955b900 692cda80 ec45' + EX + Buffer.from(ED25519_KEY, 'base64').toString('hex'),
    `A 13 2 3600 20260101000000 20251201000000 60485 example.org. ${ED25519_KEY}`,
  ],
  [
    'NSEC',
    'host.example.org. A MX RRSIG NSEC TYPE1234',
    '04686f7374' + EX + '00 06 40010000 0003 04 1b' + '00'.repeat(26) + '20',
    'host.example.org. A MX RRSIG NSEC TYPE1234',
  ],
  ['NSEC', 'next.example.org.', '046e657874' + EX, 'next.example.org.'],
  ['RP', 'mbox txt.example.org.', null, 'mbox.example.org. txt.example.org.'],
  ['AFSDB', '1 afs', null, '1 afs.example.org.'],
  ['KX', '10 kx', null, '10 kx.example.org.'],
  ['TYPE65534', '\\# 4 0A000001', '0a000001', '\\# 4 0A000001'],
  ['TYPE65534', '\\# 0', '', '\\# 0'],
  ['TYPE65534', '\\# 6 0a00 0001 ff ee', '0a000001ffee', '\\# 6 0A000001FFEE'],
  ['NULL', '\\# 3 abcdef', 'abcdef', '\\# 3 ABCDEF'],
  // RFC 9460: SVCB and HTTPS in presentation form, as dig 9.18 prints them (test/e2e/simulate.test.ts compares with dig).
  ['SVCB', '\\# 3 000100', '000100', '1 .'],
  ['HTTPS', '\\# 3 000100', '000100', '1 .'],
  ['HTTPS', '0 svc', '0000 03737663' + EX, '0 svc.example.org.'],
  ['SVCB', '16 foo.example. alpn=h2', '0010 03666f6f076578616d706c6500 0001 0003 026832', '16 foo.example. alpn="h2"'],
  // Keys are sorted (RFC 9460 §2.2); a quoted value arrives as `key=` and the quoted token.
  [
    'HTTPS',
    '1 . port=8443 alpn= "h2,h3" mandatory=alpn,port',
    '0001 00 0000 0004 00010003 0001 0006 026832026833 0003 0002 20fb',
    '1 . mandatory=alpn,port alpn="h2,h3" port=8443',
  ],
  [
    'HTTPS',
    '1 . alpn="a\\\\,b\\\\\\\\c" no-default-alpn ipv4hint=192.0.2.80,192.0.2.81 ech=AQIDBA== ipv6hint=::,2001:db8::1 dohpath=/q{?dns} key8 key65333="hi \\"x\\" \\001"',
    null,
    '1 . alpn="a\\\\,b\\\\\\\\c" no-default-alpn ipv4hint=192.0.2.80,192.0.2.81 ech=AQIDBA== ipv6hint=::,2001:db8::1 key7="/q{?dns}" key8 key65333="hi \\"x\\" \\001"',
  ],
];

describe('SVCB and HTTPS parameters that do not decode (RFC 9460 §2.2)', () => {
  it('come out in RFC 3597 form, and are refused in it', () => {
    // Keys out of order (port before alpn), then a port of 1 octet.
    for (const h of ['0001 00 0003 0002 01bb 0001 0003 026832', '0001 00 0003 0001 01']) {
      const data = hex(h);
      expect(formatRdata(t('HTTPS'), data)).toBe(`\\# ${data.length} ${data.toString('hex').toUpperCase()}`);
      expect(() => parseRdataText(t('HTTPS'), formatRdata(t('HTTPS'), data), ORIGIN)).toThrow(/not valid HTTPS RDATA/);
    }
  });
});

describe('parseRdataText', () => {
  it.each(CASES)('%s %s', (type, text, wire) => {
    const got = parseRdataText(t(type), text, ORIGIN);
    if (wire !== null) expect(got.toString('hex')).toBe(hex(wire).toString('hex'));
  });

  it.each(CASES)('formats %s %s canonically', (type, text, _wire, formatted) => {
    expect(formatRdata(t(type), parseRdataText(t(type), text, ORIGIN))).toBe(formatted);
  });

  it.each(CASES)('round-trips %s %s through formatRdata', (type, text) => {
    const wire = parseRdataText(t(type), text, ORIGIN);
    expect(parseRdataText(t(type), formatRdata(t(type), wire), ORIGIN)).toEqual(wire);
  });

  it('takes the strings the YAML zone format passes', () => {
    expect(parseRdataText(RRType.MX, '10 mail', ORIGIN)).toEqual(hex('000a 046d61696c' + EX));
    expect(parseRdataText(RRType.TXT, '"v=spf1 -all"', ORIGIN)).toEqual(hex('0b763d73706631202d616c6c'));
    expect(parseRdataText(RRType.A, ' 192.0.2.1 ', ORIGIN)).toEqual(hex('c0000201'));
    // An escaped space outside quotes stays inside the token.
    expect(parseRdataText(RRType.TXT, 'a\\ b', ORIGIN)).toEqual(hex('03612062'));
    // Only an unquoted \# selects the RFC 3597 form; a quoted one is the string "#".
    expect(parseRdataText(RRType.TXT, '"\\#" "x"', ORIGIN)).toEqual(hex('0123 0178'));
  });
});

describe('RFC 3597 generic form of known types', () => {
  const known: [string, string][] = [
    ['A', '192.0.2.1'],
    ['AAAA', '2001:db8::53'],
    ['MX', '10 mail.example.org.'],
    ['TXT', '"hello" "world"'],
    ['SOA', 'ns1 hostmaster 1 3600 900 604800 300'],
    ['SRV', '0 5 5060 sip'],
    ['CAA', '0 issue "letsencrypt.org"'],
    ['DS', `60485 13 2 ${DS_DIGEST}`],
  ];
  it.each(known)('%s %s in \\# form gives identical bytes', (type, text) => {
    const normal = parseRdataText(t(type), text, ORIGIN);
    const generic = parseRdataText(t(type), `\\# ${normal.length} ${normal.toString('hex')}`, ORIGIN);
    expect(generic).toEqual(normal);
    expect(parseRdataText(t(`TYPE${t(type)}`), text, ORIGIN)).toEqual(normal);
  });
});

/** Builds a one-answer response around the RDATA and decodes it with dns-packet. */
function decodeWithDnsPacket(type: number, rdata: Buffer): unknown {
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(type, 0);
  fixed.writeUInt16BE(1, 2);
  fixed.writeUInt32BE(300, 4);
  fixed.writeUInt16BE(rdata.length, 8);
  const packet = Buffer.concat([hex('0000 8400 0000 0001 0000 0000'), hex('03777777' + EX), fixed, rdata]);
  const answer = dnsPacket.decode(packet).answers![0]!;
  expect(answer).toMatchObject({ name: 'www.example.org', class: 'IN', ttl: 300 });
  return (answer as { data: unknown }).data;
}

describe('cross-check with dns-packet decoder', () => {
  const checks: [string, string, unknown][] = [
    ['A', '192.0.2.1', '192.0.2.1'],
    ['AAAA', '::ffff:192.0.2.1', '::ffff:c000:201'],
    ['AAAA', '2001:db8:0:0:1::1', '2001:db8::1:0:0:1'],
    ['NS', 'ns1', 'ns1.example.org'],
    ['CNAME', 'Www.Example.org.', 'Www.Example.org'],
    ['PTR', 'host', 'host.example.org'],
    ['DNAME', 'example.net.', 'example.net'],
    ['MX', '10 mail', { preference: 10, exchange: 'mail.example.org' }],
    [
      'SOA',
      'ns1 hostmaster 2024010101 1h 15m 2w 5m',
      { mname: 'ns1.example.org', rname: 'hostmaster.example.org', serial: 2024010101, refresh: 3600, retry: 900, expire: 1209600, minimum: 300 },
    ],
    ['TXT', '"a\\"b" "\\\\" "x y"', [Buffer.from('a"b'), Buffer.from('\\'), Buffer.from('x y')]],
    ['HINFO', '"INTEL-386" "UNIX"', { cpu: 'INTEL-386', os: 'UNIX' }],
    ['SRV', '0 5 5060 sip', { priority: 0, weight: 5, port: 5060, target: 'sip.example.org' }],
    ['CAA', '128 issue "letsencrypt.org"', { flags: 128, tag: 'issue', value: 'letsencrypt.org', issuerCritical: true }],
    [
      'NAPTR',
      '100 10 "u" "E2U+sip" "!^.*$!sip:info@example.org!" .',
      { order: 100, preference: 10, flags: 'u', services: 'E2U+sip', regexp: '!^.*$!sip:info@example.org!', replacement: '.' },
    ],
    ['DS', `60485 13 2 ${DS_DIGEST}`, { keyTag: 60485, algorithm: 13, digestType: 2, digest: Buffer.from(DS_DIGEST, 'hex') }],
    ['SSHFP', `4 2 ${SHA256}`, { algorithm: 4, hash: 2, fingerprint: SHA256 }],
    ['TLSA', `3 1 1 ${SHA256}`, { usage: 3, selector: 1, matchingType: 1, certificate: Buffer.from(SHA256, 'hex') }],
    ['DNSKEY', `257 3 15 ${ED25519_KEY}`, { flags: 257, algorithm: 15, key: Buffer.from(ED25519_KEY, 'base64') }],
    ['NSEC', 'host.example.org. A MX RRSIG NSEC', { nextDomain: 'host.example.org', rrtypes: ['A', 'MX', 'RRSIG', 'NSEC'] }],
    [
      'RRSIG',
      `A 13 2 3600 20260101000000 20251201000000 60485 example.org. ${ED25519_KEY}`,
      {
        typeCovered: 'A',
        algorithm: 13,
        labels: 2,
        originalTTL: 3600,
        expiration: 1767225600,
        inception: 1764547200,
        keyTag: 60485,
        signersName: 'example.org',
      },
    ],
  ];
  it.each(checks)('%s %s', (type, text, expected) => {
    const data = decodeWithDnsPacket(t(type), parseRdataText(t(type), text, ORIGIN));
    if (typeof expected === 'object' && !Array.isArray(expected)) expect(data).toMatchObject(expected as object);
    else expect(data).toEqual(expected);
  });
});

describe('parseRdata errors', () => {
  const errors: [string, string, RegExp][] = [
    ['HTTPS', '1 . port=70000', /port "70000" is not a number from 0 to 65535/],
    ['HTTPS', '1 . port=1 port=2', /appears twice/],
    ['HTTPS', '1 . mandatory=port', /mandatory lists port, which is not given/],
    ['HTTPS', '1 . mandatory=mandatory', /cannot list "mandatory"/],
    ['HTTPS', '1 . alpn=h2,,h3', /empty item/],
    ['HTTPS', '1 . no-default-alpn=1', /takes no value/],
    ['HTTPS', '1 . key65535=x', /not a SvcParamKey/],
    ['SVCB', '1 . bogus=1', /not a SvcParamKey/],
    ['SVCB', '1 . ipv4hint=192.0.2', /not an IPv4 address/],
    ['A', '192.0.2', /not an IPv4 address/],
    ['A', '192.0.2.256', /not an IPv4 address/],
    ['A', '192.0.2.01', /not an IPv4 address/],
    ['A', '192.0.2.1.', /not an IPv4 address/],
    ['A', '2001:db8::1', /not an IPv4 address/],
    ['A', '192.0.2.1 192.0.2.2', /unexpected "192.0.2.2"/],
    ['A', '', /missing address/],
    ['AAAA', '2001:db8::1::2', /not an IPv6 address/],
    ['AAAA', '1:2:3:4:5:6:7:8:9', /not an IPv6 address/],
    ['AAAA', '1:2:3:4:5:6:7', /not an IPv6 address/],
    ['AAAA', '1:2:3:4::5:6:7:8', /not an IPv6 address/],
    ['AAAA', '2001:db8::g', /not an IPv6 address/],
    ['AAAA', '12345::', /not an IPv6 address/],
    ['AAAA', ':1::', /not an IPv6 address/],
    ['AAAA', '::1.2.3', /not an IPv6 address/],
    ['AAAA', '1.2.3.4::', /not an IPv6 address/],
    ['AAAA', 'fe80::1%eth0', /not an IPv6 address/],
    ['AAAA', '192.0.2.1', /not an IPv6 address/],
    ['MX', 'ten mail', /preference "ten" is not a number from 0 to 65535/],
    ['MX', '65536 mail', /preference "65536" is not a number/],
    ['MX', '10', /missing exchange/],
    ['CNAME', `${'a'.repeat(64)}.example.org.`, /target: .*label over 63 octets/],
    ['CNAME', `${'abcdefghi.'.repeat(26)}`, /target: .*over 255 octets/],
    ['CNAME', 'a..b', /empty label/],
    ['CNAME', 'a\\999', /bad \\DDD escape/],
    ['TXT', `"${'x'.repeat(256)}"`, /256 octets, over 255/],
    ['TXT', `"${'\\120'.repeat(256)}"`, /256 octets, over 255/],
    ['TXT', '"\\256"', /bad \\DDD escape/],
    ['TXT', '', /missing text/],
    ['TXT', '"unclosed', /unclosed quote/],
    ['HINFO', '"only-cpu"', /missing os/],
    ['SOA', 'ns1 hostmaster 4294967296 1 2 3 4', /serial "4294967296"/],
    ['SOA', 'ns1 hostmaster 1 1x 2 3 4', /refresh "1x"/],
    ['SOA', 'ns1 hostmaster 1 2 3 4', /missing minimum/],
    ['SRV', '0 5 70000 sip', /port "70000"/],
    ['CAA', '0 issue-ca "x"', /tag "issue-ca" must be 1 to 15 letters and digits/],
    ['CAA', '256 issue "x"', /flags "256"/],
    ['DS', '60485 13 2 ABC', /even number of hex digits/],
    ['DS', '60485 13 2 XYZ0', /even number of hex digits/],
    ['DS', '60485 13 2', /missing digest/],
    ['DNSKEY', '257 3 15 not*base64', /not valid base64/],
    ['DNSKEY', '257 3 NOSUCHALG AAAA', /algorithm "NOSUCHALG"/],
    ['RRSIG', 'A 13 2 3600 20261301000000 20251201000000 1 example.org. AAAA', /expiration "20261301000000" is not a valid/],
    ['NSEC', 'next. A BOGUS', /unknown type "BOGUS"/],
    ['TYPE65534', '0A000001', /TYPE65534 has no presentation format here; write it in RFC 3597 form/],
    ['TYPE65534', '\\# 5 0A000001', /\\# length is 5 but 4 octets/],
    ['TYPE65534', '\\# 4 0A00001', /even number of hex digits/],
    ['TYPE65534', '\\#', /\\# needs a length/],
    ['TYPE65534', '\\# x 00', /\\# length "x"/],
    ['A', '\\# 3 C00002', /not valid A RDATA/],
    ['MX', '\\# 3 000a05', /not valid MX RDATA/],
    ['AXFR', '', /query or meta type/],
    ['OPT', '\\# 0', /query or meta type/],
    ['ANY', '192.0.2.1', /query or meta type/],
  ];
  it.each(errors)('%s %j', (type, text, message) => {
    expect(() => parseRdataText(t(type), text, ORIGIN)).toThrow(message);
  });
});

describe('formatRdata', () => {
  it.each([
    ['CNAME', '03 61 2e 22 00', 'a\\.\\".'],
    ['CNAME', '04 28 40 24 3b 00', '\\(\\@\\$\\;.'],
    ['CNAME', '02 20 ff 00', '\\032\\255.'],
    ['TXT', '01 3b', '";"'],
    ['TYPE65280', 'c0000201', '\\# 4 C0000201'],
  ])('%s %s → %s', (type, wire, text) => {
    const bytes = hex(wire);
    expect(formatRdata(t(type), bytes)).toBe(text);
    expect(parseRdataText(t(type), text, ORIGIN)).toEqual(bytes);
  });

  // Parsers never produce these; formatting must still not throw. RFC 3597 §5 makes \# data for a
  // known type valid only when it fits the type, so these do not parse back.
  it.each([
    ['A', 'c00002', '\\# 3 C00002'],
    ['MX', '000a 05', '\\# 3 000A05'],
    ['TXT', '', '\\# 0'],
    ['TXT', '05 6162', '\\# 3 056162'],
    ['CAA', '00 00', '\\# 2 0000'],
    ['NSEC', '00 0000', '\\# 3 000000'],
    ['NSEC', '00 000140 000140', '\\# 7 00000140000140'],
    ['NSEC', '00 000100', '\\# 4 00000100'],
    ['CNAME', 'c00c', '\\# 2 C00C'],
  ])('malformed %s %s → %s', (type, wire, text) => {
    expect(formatRdata(t(type), hex(wire))).toBe(text);
    expect(() => parseRdataText(t(type), text, ORIGIN)).toThrow(/not valid/);
  });
});

describe('rdataTargetKey', () => {
  it.each([
    ['NS', 'NS1.Example.ORG.', 'ns1.example.org'],
    ['CNAME', 'www', 'www.example.org'],
    ['DNAME', 'example.NET.', 'example.net'],
    ['PTR', 'a\\.b', 'a\\.b.example.org'],
    ['MX', '10 Mail', 'mail.example.org'],
    ['SRV', '0 5 5060 SIP', 'sip.example.org'],
    ['NAPTR', '100 10 "s" "SIP+D2U" "" _sip._udp', '_sip._udp.example.org'],
    ['MX', '0 .', ''],
    ['A', '192.0.2.1', null],
    ['TXT', '"ns1.example.org."', null],
  ])('%s %s → %s', (type, text, key) => {
    expect(rdataTargetKey(t(type), parseRdataText(t(type), text, ORIGIN))).toBe(key);
  });

  it('returns null for malformed RDATA', () => {
    expect(rdataTargetKey(RRType.MX, hex('000a 05'))).toBeNull();
    expect(rdataTargetKey(RRType.NAPTR, hex('0001'))).toBeNull();
  });
});

describe('SOA helpers', () => {
  const soa = parseRdataText(RRType.SOA, 'NS1 Host\\.Master 2024010101 1h 15m 2w 5m', ORIGIN);

  it('reads the fields', () => {
    expect(soaFields(soa)).toEqual({
      mname: 'ns1.example.org',
      rname: 'host\\.master.example.org',
      serial: 2024010101,
      refresh: 3600,
      retry: 900,
      expire: 1209600,
      minimum: 300,
    });
  });

  it('replaces the serial and nothing else', () => {
    const next = withSoaSerial(soa, 2024010102);
    expect(soaFields(next).serial).toBe(2024010102);
    expect(next.length).toBe(soa.length);
    expect(soaFields(soa).serial).toBe(2024010101);
    expect(formatRdata(RRType.SOA, next)).toBe('NS1.example.org. Host\\.Master.example.org. 2024010102 3600 900 1209600 300');
    expect(soaFields(withSoaSerial(soa, 2 ** 32 + 5)).serial).toBe(5);
  });

  it('rejects malformed SOA RDATA', () => {
    expect(() => soaFields(soa.subarray(0, soa.length - 1))).toThrow(/truncated/);
  });
});

describe('parseTtlUnits', () => {
  it.each([
    ['0', 0],
    ['3600', 3600],
    ['1h', 3600],
    ['1H30M', 5400],
    ['1d', 86400],
    ['2w', 1209600],
    ['1w2d3h4m5s', 604800 + 2 * 86400 + 3 * 3600 + 4 * 60 + 5],
    ['1h', 3600],
  ])('%s → %i', (text, n) => {
    expect(parseTtlUnits(text)).toBe(n);
  });
  it.each(['', 'h', '1x', '1h30', '-1', '1.5h', ' 1'])('rejects %j', (text) => {
    expect(parseTtlUnits(text)).toBeUndefined();
  });
});

describe('parseRdata tokens', () => {
  it('interprets escapes in tokens the tokenizer left in place', () => {
    expect(parseRdata(RRType.TXT, ['say \\"hi\\"', '\\059'], ORIGIN)).toEqual(Buffer.from('\x08say "hi"\x01;', 'latin1'));
  });
});
