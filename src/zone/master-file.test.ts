/**
 * RFC 1035 §5.1 master files as BIND and NSD accept them: a realistic migrated zone, the syntax
 * corners one at a time, and every error with its exact file:line and code.
 */
import { describe, expect, it } from 'vitest';
import { RRType, typeToName } from '../proto/types.js';
import { parseMasterFile } from './master-file.js';
import { formatRdata, parseRdataText } from '../proto/rdata.js';
import type { ParsedZone } from './record.js';

const FILE = 'example.org.zone';

function parse(text: string, opts: { origin?: string; defaultTtlSeconds?: number } = { origin: 'example.org' }): ParsedZone {
  return parseMasterFile(text, { file: FILE, ...opts });
}

/** Records as `owner ttl TYPE rdata` lines, in file order. */
function show(zone: ParsedZone): string[] {
  return zone.records.map((r) => `${r.owner} ${r.ttlSeconds} ${typeToName(r.type)} ${formatRdata(r.type, r.rdata)}`);
}

/** Errors as `CODE file:line: message`. */
function problems(zone: ParsedZone): string[] {
  return zone.errors.map((e) => `${e.code} ${e.format()}`);
}

const ED25519_KEY = 'l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=';

/** The kind of file an operator brings over from BIND: named-checkzone accepts all of it. */
const BIND_ZONE = `; example.org, as exported from BIND 9
$TTL 1h
$ORIGIN example.org.
@   IN  SOA ns1.example.org. hostmaster.example.org. (
            2024010101 ; serial (YYYYMMDDnn)
            1h         ; refresh
            15M        ; retry
            2w         ; expire
            5m )       ; negative-caching TTL (RFC 2308)
    IN  NS      ns1
    IN  NS      ns2.example.net.
@   IN  MX      10 mail
        MX      20 mail2.example.net.
    300 IN TXT  "v=spf1 mx -all"
    IN  300 CAA 0 issue "letsencrypt.org"
        CAA     0 iodef "mailto:security@example.org"
    IN  DNSKEY  257 3 15 (
                ${ED25519_KEY.slice(0, 22)}
                ${ED25519_KEY.slice(22)} ) ; KSK
ns1     IN  A       192.0.2.53
        IN  AAAA    2001:db8::53
mail    IN  A       192.0.2.25
www 1d  IN  A       192.0.2.80
        IN  AAAA    2001:db8::80
ftp     IN  CNAME   www
txt     IN  TXT     "quotes \\"inside\\"" "semi;colon" "paren(s)" back\\\\slash "\\065\\066C"
a\\.dotted IN A      192.0.2.99
host    IN  HINFO   "PC-Intel-700mhz" "NetBSD 9"
_sip._udp IN SRV    0 5 5060 sip
sip     IN  A       192.0.2.60
@       IN  NAPTR   100 10 "u" "E2U+sip" "!^.*$!sip:info@example.org!" .
_sip._tcp IN NAPTR  ( 100 50 "s" "SIP+D2T" ""
                      _sip._tcp )
99.2.0.192.in-addr IN PTR host
legacy  IN  DNAME   example.net.
host    IN  SSHFP   4 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF
_443._tcp.www IN TLSA 3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
sub     IN  NS      ns.sub
sub     IN  DS      60485 13 2 D4B7D520E7BB5F0F67674A0CCEB1E3E0614B93C4F9E99B8383F6A1E4469DA50A
ns.sub  IN  A       192.0.2.200
unknown IN  TYPE65534 \\# 4 0A000001
generic IN  TYPE1   \\# 4 C0000250
generic IN  A       192.0.2.80
`;

describe('a realistic BIND zone', () => {
  const zone = parse(BIND_ZONE, {});

  it('parses with no problems, origin from $ORIGIN', () => {
    expect(problems(zone)).toEqual([]);
    expect(zone.origin).toBe('example.org');
    expect(zone.file).toBe(FILE);
  });

  it('gives every record its owner, TTL, type and data', () => {
    expect(show(zone)).toEqual([
      'example.org 3600 SOA ns1.example.org. hostmaster.example.org. 2024010101 3600 900 1209600 300',
      'example.org 3600 NS ns1.example.org.',
      'example.org 3600 NS ns2.example.net.',
      'example.org 3600 MX 10 mail.example.org.',
      'example.org 3600 MX 20 mail2.example.net.',
      'example.org 300 TXT "v=spf1 mx -all"',
      'example.org 300 CAA 0 issue "letsencrypt.org"',
      'example.org 3600 CAA 0 iodef "mailto:security@example.org"',
      `example.org 3600 DNSKEY 257 3 15 ${ED25519_KEY}`,
      'ns1.example.org 3600 A 192.0.2.53',
      'ns1.example.org 3600 AAAA 2001:db8::53',
      'mail.example.org 3600 A 192.0.2.25',
      'www.example.org 86400 A 192.0.2.80',
      'www.example.org 3600 AAAA 2001:db8::80',
      'ftp.example.org 3600 CNAME www.example.org.',
      'txt.example.org 3600 TXT "quotes \\"inside\\"" "semi;colon" "paren(s)" "back\\\\slash" "ABC"',
      'a\\.dotted.example.org 3600 A 192.0.2.99',
      'host.example.org 3600 HINFO "PC-Intel-700mhz" "NetBSD 9"',
      '_sip._udp.example.org 3600 SRV 0 5 5060 sip.example.org.',
      'sip.example.org 3600 A 192.0.2.60',
      'example.org 3600 NAPTR 100 10 "u" "E2U+sip" "!^.*$!sip:info@example.org!" .',
      '_sip._tcp.example.org 3600 NAPTR 100 50 "s" "SIP+D2T" "" _sip._tcp.example.org.',
      '99.2.0.192.in-addr.example.org 3600 PTR host.example.org.',
      'legacy.example.org 3600 DNAME example.net.',
      'host.example.org 3600 SSHFP 4 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF',
      '_443._tcp.www.example.org 3600 TLSA 3 1 1 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF',
      'sub.example.org 3600 NS ns.sub.example.org.',
      'sub.example.org 3600 DS 60485 13 2 D4B7D520E7BB5F0F67674A0CCEB1E3E0614B93C4F9E99B8383F6A1E4469DA50A',
      'ns.sub.example.org 3600 A 192.0.2.200',
      'unknown.example.org 3600 TYPE65534 \\# 4 0A000001',
      'generic.example.org 3600 A 192.0.2.80',
      'generic.example.org 3600 A 192.0.2.80',
    ]);
  });

  it('records the line each record starts on and its text on one line', () => {
    const soa = zone.records[0]!;
    expect(soa.at).toEqual({ file: FILE, line: 4 });
    expect(soa.text).toBe('@   IN  SOA ns1.example.org. hostmaster.example.org. ( 2024010101 1h 15M 2w 5m )');
    const dnskey = zone.records.find((r) => r.type === RRType.DNSKEY)!;
    expect(dnskey.at.line).toBe(17);
    expect(dnskey.text).toBe(`IN  DNSKEY  257 3 15 ( ${ED25519_KEY.slice(0, 22)} ${ED25519_KEY.slice(22)} )`);
    const naptr = zone.records.find((r) => r.owner === '_sip._tcp.example.org')!;
    expect(naptr.at.line).toBe(32);
    expect(naptr.text).toBe(`_sip._tcp IN NAPTR  ( 100 50 "s" "SIP+D2T" "" _sip._tcp )`);
    const www = zone.records.find((r) => r.owner === 'www.example.org')!;
    expect(www.at.line).toBe(23);
    expect(www.text).toBe('www 1d  IN  A       192.0.2.80');
  });

  it('gives a known type in \\# form the same bytes as its normal form', () => {
    const generic = zone.records.filter((r) => r.owner === 'generic.example.org');
    expect(generic[0]!.rdata).toEqual(generic[1]!.rdata);
  });

  it('keeps the case of names inside RDATA and lowercases owners', () => {
    const z = parse('$TTL 60\nWWW IN CNAME Target.Example.NET.\n');
    expect(z.records[0]!.owner).toBe('www.example.org');
    expect(formatRdata(RRType.CNAME, z.records[0]!.rdata)).toBe('Target.Example.NET.');
  });

  it('stores exactly the bytes parseRdataText gives', () => {
    for (const r of zone.records) {
      expect(parseRdataText(r.type, formatRdata(r.type, r.rdata), 'example.org')).toEqual(r.rdata);
    }
  });
});

describe('syntax', () => {
  const cases: [string, string, string[], { origin?: string; defaultTtlSeconds?: number }?][] = [
    [
      'TTL and class in either order',
      '$TTL 60\na 30 IN A 192.0.2.1\nb IN 30 A 192.0.2.2\nc IN A 192.0.2.3\nd 40 A 192.0.2.4',
      ['a.example.org 30 A 192.0.2.1', 'b.example.org 30 A 192.0.2.2', 'c.example.org 60 A 192.0.2.3', 'd.example.org 40 A 192.0.2.4'],
    ],
    [
      'lower-case class, type and CLASS1',
      '$ttl 60\na in a 192.0.2.1\nb CLASS1 TYPE1 192.0.2.2',
      ['a.example.org 60 A 192.0.2.1', 'b.example.org 60 A 192.0.2.2'],
    ],
    [
      'BIND TTL units',
      '$TTL 1H30m\na A 192.0.2.1\nb 2w A 192.0.2.2\nc 1d2h A 192.0.2.3\nd 2147483647 A 192.0.2.4',
      ['a.example.org 5400 A 192.0.2.1', 'b.example.org 1209600 A 192.0.2.2', 'c.example.org 93600 A 192.0.2.3', 'd.example.org 2147483647 A 192.0.2.4'],
    ],
    [
      '@, absolute and relative names',
      '$TTL 60\n@ A 192.0.2.1\nwww.example.org. A 192.0.2.2\nwww2 A 192.0.2.3\n* A 192.0.2.4',
      ['example.org 60 A 192.0.2.1', 'www.example.org 60 A 192.0.2.2', 'www2.example.org 60 A 192.0.2.3', '*.example.org 60 A 192.0.2.4'],
    ],
    [
      '$ORIGIN changes the origin for relative names, absolute or relative',
      '$TTL 60\n$ORIGIN sub.example.org.\nwww A 192.0.2.1\n@ MX 10 mail\n$ORIGIN deeper\nx CNAME y\n',
      ['www.sub.example.org 60 A 192.0.2.1', 'sub.example.org 60 MX 10 mail.sub.example.org.', 'x.deeper.sub.example.org 60 CNAME y.deeper.sub.example.org.'],
    ],
    [
      'blank owner repeats the previous owner, even after $ORIGIN',
      '$TTL 60\nwww A 192.0.2.1\n$ORIGIN other.example.org.\n\tA 192.0.2.2\n',
      ['www.example.org 60 A 192.0.2.1', 'www.example.org 60 A 192.0.2.2'],
    ],
    ['comments and blank lines', '; header\n\n   \n$TTL 60 ; one minute\nwww A 192.0.2.1;no space\n  ; indented comment\n', ['www.example.org 60 A 192.0.2.1']],
    [
      'parentheses across lines with comments inside',
      '$TTL 60\n@ SOA ns1 host (\n 1 ; serial\n ; a comment-only line\n 2 3\n 4 5 )\n',
      ['example.org 60 SOA ns1.example.org. host.example.org. 1 2 3 4 5'],
    ],
    ['parentheses around a middle part, then more tokens', '$TTL 60\nx TXT ( "a"\n "b" ) "c"\n', ['x.example.org 60 TXT "a" "b" "c"']],
    ['quoted strings keep ; ( ) and spaces', '$TTL 60\nx TXT "a ; b ( c ) d"\n', ['x.example.org 60 TXT "a ; b ( c ) d"']],
    ['empty quoted string', '$TTL 60\nx TXT ""\n', ['x.example.org 60 TXT ""']],
    ['a quoted \\# is a string, not the RFC 3597 form', '$TTL 60\nx TXT "\\#" 4\n', ['x.example.org 60 TXT "#" "4"']],
    [
      'escapes in owner names',
      '$TTL 60\nsp\\032ace A 192.0.2.1\nUP\\.dot A 192.0.2.2\n',
      ['sp\\032ace.example.org 60 A 192.0.2.1', 'up\\.dot.example.org 60 A 192.0.2.2'],
    ],
    ['CRLF line endings and a BOM', '\uFEFF$TTL 60\r\nwww A 192.0.2.1\r\n\tAAAA ::1\r\n', ['www.example.org 60 A 192.0.2.1', 'www.example.org 60 AAAA ::1']],
    ['no newline at the end', '$TTL 60\nwww A 192.0.2.1', ['www.example.org 60 A 192.0.2.1']],
    [
      'unknown types in RFC 3597 form',
      '$TTL 60\nx TYPE65534 \\# 4 0A000001\ny type65280 \\# 0\nz TYPE16 \\# 2 0161',
      ['x.example.org 60 TYPE65534 \\# 4 0A000001', 'y.example.org 60 TYPE65280 \\# 0', 'z.example.org 60 TXT "a"'],
    ],
    // No $TTL (RFC 1035 §5.1 / BIND): the SOA takes its MINIMUM, later records the previous TTL.
    [
      'no $TTL: SOA MINIMUM, then the previous record',
      '@ IN SOA ns1 host 1 2 3 4 300\n  NS ns1\nwww 60 A 192.0.2.1\nwww2 A 192.0.2.2\n',
      [
        'example.org 300 SOA ns1.example.org. host.example.org. 1 2 3 4 300',
        'example.org 300 NS ns1.example.org.',
        'www.example.org 60 A 192.0.2.1',
        'www2.example.org 60 A 192.0.2.2',
      ],
    ],
    [
      'no $TTL: an explicit SOA TTL',
      '@ 900 IN SOA ns1 host 1 2 3 4 300\n  NS ns1\n',
      ['example.org 900 SOA ns1.example.org. host.example.org. 1 2 3 4 300', 'example.org 900 NS ns1.example.org.'],
    ],
    [
      'no $TTL: defaultTtlSeconds for a first record that is not an SOA',
      'www A 192.0.2.1\n',
      ['www.example.org 120 A 192.0.2.1'],
      { origin: 'example.org', defaultTtlSeconds: 120 },
    ],
    ['$TTL wins over the previous record', '$TTL 60\na 30 A 192.0.2.1\nb A 192.0.2.2\n', ['a.example.org 30 A 192.0.2.1', 'b.example.org 60 A 192.0.2.2']],
    ['origin from the first $ORIGIN', '$ORIGIN Example.COM.\n$TTL 60\nwww A 192.0.2.1\n', ['www.example.com 60 A 192.0.2.1'], {}],
    [
      'the root zone',
      '$TTL 60\n. NS a.root-servers.net.\ncom. NS a.gtld-servers.net.\n',
      ['. 60 NS a.root-servers.net.', 'com 60 NS a.gtld-servers.net.'],
      { origin: '' },
    ],
  ];
  it.each(cases)('%s', (_name, text, expected, opts = { origin: 'example.org' }) => {
    const zone = parse(text, opts);
    expect(problems(zone)).toEqual([]);
    expect(show(zone).map((s) => s.replace(/^ /, '. '))).toEqual(expected);
  });

  it('keeps opts.origin as the zone origin when $ORIGIN moves', () => {
    expect(parse('$ORIGIN sub.example.org.\n$TTL 1\nx A 192.0.2.1\n').origin).toBe('example.org');
  });
});

describe('errors', () => {
  const long63 = 'a'.repeat(64);
  const cases: [string, string, string[], { origin?: string }?][] = [
    [
      'bad IPv4 address',
      '$TTL 60\nwww A 192.0.2.256\n',
      [
        'MRD_ERR_ZONE_RDATA example.org.zone:2: bad A record data: "192.0.2.256" is not an IPv4 address (a dotted quad such as 192.0.2.1) (record: www A 192.0.2.256)',
      ],
    ],
    [
      'bad IPv6 address',
      '$TTL 60\n\n www2 AAAA 2001:db8::1::2\nwww AAAA 2001:db8:::1\n',
      [
        'MRD_ERR_ZONE_SYNTAX example.org.zone:3: syntax error: the line starts with a blank, but there is no previous owner to repeat (record: www2 AAAA 2001:db8::1::2)',
        'MRD_ERR_ZONE_RDATA example.org.zone:4: bad AAAA record data: "2001:db8:::1" is not an IPv6 address (record: www AAAA 2001:db8:::1)',
      ],
    ],
    [
      'owner label over 63 octets',
      `$TTL 60\n${long63} A 192.0.2.1\n`,
      [`MRD_ERR_ZONE_NAME example.org.zone:2: bad name: owner: name "${long63}" has a label over 63 octets (record: ${long63} A 192.0.2.1)`],
    ],
    [
      'owner name over 255 octets',
      `$TTL 60\n${'abcdefghi.'.repeat(25)}x A 192.0.2.1\n`,
      [
        `MRD_ERR_ZONE_NAME example.org.zone:2: bad name: owner: name "${'abcdefghi.'.repeat(25)}x" is over 255 octets (record: ${'abcdefghi.'.repeat(25)}x A 192.0.2.1)`,
      ],
    ],
    [
      'label over 63 octets in RDATA',
      `$TTL 60\nwww CNAME ${long63}\n`,
      [`MRD_ERR_ZONE_RDATA example.org.zone:2: bad CNAME record data: target: name "${long63}" has a label over 63 octets (record: www CNAME ${long63})`],
    ],
    [
      'TTL over 2^31-1',
      '$TTL 60\nwww 2147483648 IN A 192.0.2.1\n',
      ['MRD_ERR_ZONE_TTL example.org.zone:2: bad TTL: TTL 2147483648 is over 2147483647 (RFC 2181 §8) (record: www 2147483648 IN A 192.0.2.1)'],
    ],
    [
      '$TTL over 2^31-1 and in bad units',
      '$TTL 2147483648\n$TTL 1x\n',
      [
        'MRD_ERR_ZONE_TTL example.org.zone:1: bad TTL: $TTL 2147483648 is over 2147483647 (RFC 2181 §8) (record: $TTL 2147483648)',
        'MRD_ERR_ZONE_TTL example.org.zone:2: bad TTL: $TTL "1x" is not a number of seconds or a form such as 1h30m (record: $TTL 1x)',
      ],
    ],
    [
      'TTL in units over 2^31-1',
      '$TTL 60\nwww 3551w IN A 192.0.2.1\n',
      ['MRD_ERR_ZONE_TTL example.org.zone:2: bad TTL: TTL 3551w is over 2147483647 (RFC 2181 §8) (record: www 3551w IN A 192.0.2.1)'],
    ],
    [
      'no TTL anywhere',
      'www A 192.0.2.1\n',
      ['MRD_ERR_ZONE_TTL example.org.zone:1: bad TTL: the record has no TTL, and no $TTL or earlier record gives one (record: www A 192.0.2.1)'],
    ],
    [
      'unclosed parenthesis, reported where the record starts',
      '$TTL 60\nwww A 192.0.2.1\n@ SOA ns1 host ( 1 2 3 4 5\n\nmail A 192.0.2.25\n',
      [
        'MRD_ERR_ZONE_SYNTAX example.org.zone:3: syntax error: unclosed parenthesis: "(" is never closed by ")" (record: @ SOA ns1 host ( 1 2 3 4 5 mail A 192.0.2.25)',
      ],
    ],
    [
      '")" without "("',
      '$TTL 60\nwww A 192.0.2.1 )\nok A 192.0.2.2\n',
      ['MRD_ERR_ZONE_SYNTAX example.org.zone:2: syntax error: ")" without a matching "(" (record: www A 192.0.2.1 ))'],
    ],
    [
      'unclosed quote',
      '$TTL 60\ntxt TXT "no end\nok A 192.0.2.1\n',
      ['MRD_ERR_ZONE_SYNTAX example.org.zone:2: syntax error: unclosed quote (record: txt TXT "no end)'],
    ],
    [
      'unclosed quote inside parentheses',
      '$TTL 60\ntxt TXT ( "a"\n  "no end )\nok A 192.0.2.1\n',
      ['MRD_ERR_ZONE_SYNTAX example.org.zone:2: syntax error: unclosed quote (record: txt TXT ( "a" "no end ))'],
    ],
    [
      'unknown type',
      '$TTL 60\nwww IN AA 192.0.2.1\nx IN TYPE65536 \\# 0\n',
      [
        'MRD_ERR_ZONE_TYPE example.org.zone:2: unknown record type "AA" (record: www IN AA 192.0.2.1)',
        'MRD_ERR_ZONE_TYPE example.org.zone:3: unknown record type "TYPE65536" (record: x IN TYPE65536 \\# 0)',
      ],
    ],
    [
      'unknown type without \\#',
      '$TTL 60\nx TYPE65534 0A000001\n',
      [
        'MRD_ERR_ZONE_RDATA example.org.zone:2: bad TYPE65534 record data: TYPE65534 has no presentation format here; write it in RFC 3597 form: \\# <length> <hex> (record: x TYPE65534 0A000001)',
      ],
    ],
    [
      'CH and HS classes',
      '$TTL 60\nversion CH TXT "x"\nhs 60 HS A 192.0.2.1\nany ANY A 192.0.2.1\n',
      [
        'MRD_ERR_ZONE_CLASS example.org.zone:2: unsupported class "CH" (only IN is served) (record: version CH TXT "x")',
        'MRD_ERR_ZONE_CLASS example.org.zone:3: unsupported class "HS" (only IN is served) (record: hs 60 HS A 192.0.2.1)',
        'MRD_ERR_ZONE_CLASS example.org.zone:4: unsupported class "ANY" (only IN is served) (record: any ANY A 192.0.2.1)',
      ],
    ],
    [
      'out-of-zone owner',
      '$TTL 60\nwww.example.com. A 192.0.2.1\n$ORIGIN example.net.\nfoo A 192.0.2.2\nnotexample.org. A 192.0.2.3\n',
      [
        'MRD_ERR_ZONE_OUT_OF_ZONE example.org.zone:2: record "www.example.com" is outside the zone origin "example.org" (record: www.example.com. A 192.0.2.1)',
        'MRD_ERR_ZONE_OUT_OF_ZONE example.org.zone:4: record "foo.example.net" is outside the zone origin "example.org" (record: foo A 192.0.2.2)',
        'MRD_ERR_ZONE_OUT_OF_ZONE example.org.zone:5: record "notexample.org" is outside the zone origin "example.org" (record: notexample.org. A 192.0.2.3)',
      ],
    ],
    [
      '$INCLUDE and $GENERATE',
      '$TTL 60\n$INCLUDE other.zone\n$GENERATE 1-10 host$ A 192.0.2.$\n',
      [
        'MRD_ERR_ZONE_INCLUDE example.org.zone:2: $INCLUDE is not supported: Meridian reads one file per zone; copy the records of other.zone into this file (record: $INCLUDE other.zone)',
        'MRD_ERR_ZONE_INCLUDE example.org.zone:3: $INCLUDE is not supported: neither is $GENERATE; write out the records it would generate (named-compilezone -D -o - prints them) (record: $GENERATE 1-10 host$ A 192.0.2.$)',
      ],
    ],
    [
      'unknown and malformed directives',
      '$FOO bar\n$ORIGIN\n$TTL 1 2\n',
      [
        'MRD_ERR_ZONE_SYNTAX example.org.zone:1: syntax error: unknown directive $FOO (record: $FOO bar)',
        'MRD_ERR_ZONE_SYNTAX example.org.zone:2: syntax error: $ORIGIN takes exactly one name (record: $ORIGIN)',
        'MRD_ERR_ZONE_SYNTAX example.org.zone:3: syntax error: $TTL takes exactly one TTL (record: $TTL 1 2)',
      ],
    ],
    ['missing type', '$TTL 60\nwww 60 IN\n', ['MRD_ERR_ZONE_SYNTAX example.org.zone:2: syntax error: missing record type (record: www 60 IN)']],
    [
      'TXT character-string over 255 octets',
      `$TTL 60\nt TXT "${'x'.repeat(256)}"\n`,
      [
        `MRD_ERR_ZONE_RDATA example.org.zone:2: bad TXT record data: text: a character-string is 256 octets, over 255 (RFC 1035 §3.3); split it into several quoted strings (record: t TXT "${'x'.repeat(256)}")`,
      ],
    ],
    [
      '\\# length mismatch',
      '$TTL 60\nx TYPE65534 \\# 5 0A000001\n',
      [
        'MRD_ERR_ZONE_RDATA example.org.zone:2: bad TYPE65534 record data: \\# length is 5 but 4 octets of hex follow (RFC 3597 §5) (record: x TYPE65534 \\# 5 0A000001)',
      ],
    ],
    [
      'meta types cannot be zone data',
      '$TTL 60\nx AXFR\n',
      [
        'MRD_ERR_ZONE_RDATA example.org.zone:2: bad AXFR record data: AXFR is a query or meta type and cannot appear in zone data (RFC 6895 §3.1) (record: x AXFR)',
      ],
    ],
    [
      'relative name with no origin',
      '$TTL 60\nwww A 192.0.2.1\n',
      ['MRD_ERR_ZONE_NAME example.org.zone:2: bad name: owner: relative name "www" used with no origin set (record: www A 192.0.2.1)'],
      {},
    ],
    ['no origin at all', '$TTL 60\n', ['MRD_ERR_ZONE_SYNTAX example.org.zone: syntax error: no origin: the file has no $ORIGIN and none was given'], {}],
  ];
  it.each(cases)('%s', (_name, text, expected, opts = { origin: 'example.org' }) => {
    expect(problems(parse(text, opts))).toEqual(expected);
  });

  it('collects every problem in the file and keeps the good records', () => {
    const zone = parse(
      [
        '$TTL 60',
        '@ SOA ns1 host ( 1 2 3',
        '                 4 5 )',
        'bad1 A 1.2.3',
        'good A 192.0.2.1',
        'bad2 CH A 192.0.2.2',
        'bad3 BOGUS x',
        'good2 MX 10 mail',
        'bad4 3000000000 A 192.0.2.3',
      ].join('\n'),
    );
    expect(zone.errors.map((e) => `${e.code}@${e.line}`)).toEqual([
      'MRD_ERR_ZONE_RDATA@4',
      'MRD_ERR_ZONE_CLASS@6',
      'MRD_ERR_ZONE_TYPE@7',
      'MRD_ERR_ZONE_TTL@9',
    ]);
    expect(zone.records.map((r) => `${r.owner}@${r.at.line}`)).toEqual(['example.org@2', 'good.example.org@5', 'good2.example.org@8']);
  });
});
