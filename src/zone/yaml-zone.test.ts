/**
 * Meridian YAML zones: a full valid zone, and each kind of problem reported with its code and the
 * exact line an operator has to fix.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { keyToWire } from '../proto/name.js';
import { RRType } from '../proto/types.js';
import { loadYamlZone } from './yaml-zone.js';
import { buildZone } from './zone.js';

const FULL = `# a comment on line 1
zone: gslb.example.org
ttl: 3600
soa:
  mname: ns1
  rname: hostmaster.example.org.
  serial: 2026112401
  refresh: 1h
  retry: 10m
  expire: 2w
  minimum: 5m
ns: [ns1, ns2.example.net.]
transfer:
  allow: [127.0.0.0/8, "::1/128", 192.0.2.7]
records:
  - name: www
    type: A
    ttl: 300
    values: [192.0.2.10, 192.0.2.11]
  - { name: "@", type: MX, value: "10 mail" }
  - { name: _sip._udp, type: SRV, value: "0 5 5060 sip" }
  - { name: txt, type: TXT, value: '"v=spf1 -all"' }
  - name: v6
    type: aaaa
    ttl: 1h30m
    values:
      - "2001:db8::1"
      - "2001:db8::2"
  - { name: ns1, type: A, value: 192.0.2.53 }
  - { name: host.gslb.example.org., type: CNAME, value: www }
`;

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

describe('loadYamlZone: a valid zone', () => {
  const z = loadYamlZone(FULL, 'zones/gslb.yaml');
  const find = (owner: string, type: number) => z.records.filter((r) => r.owner === owner && r.type === type);

  it('has no errors, the origin and the transfer ACL', () => {
    expect(z.errors.map((e) => e.format())).toEqual([]);
    expect(z.origin).toBe('gslb.example.org');
    expect(z.file).toBe('zones/gslb.yaml');
    expect(z.transferAllow).toEqual(['127.0.0.0/8', '::1/128', '192.0.2.7']);
  });

  it('builds the SOA at the apex from the soa map, with durations in seconds', () => {
    const [soa, ...more] = find('gslb.example.org', RRType.SOA);
    expect(more).toEqual([]);
    expect(soa!.ttlSeconds).toBe(3600);
    expect(soa!.at).toEqual({ file: 'zones/gslb.yaml', line: 4 });
    expect(soa!.rdata).toEqual(
      Buffer.concat([keyToWire('ns1.gslb.example.org'), keyToWire('hostmaster.example.org'), u32(2026112401), u32(3600), u32(600), u32(1209600), u32(300)]),
    );
    expect(soa!.text).toBe('@ 3600 IN SOA ns1 hostmaster.example.org. 2026112401 3600 600 1209600 300');
  });

  it('builds the apex NS RRset, one record per name, relative or absolute', () => {
    const ns = find('gslb.example.org', RRType.NS);
    expect(ns.map((r) => r.rdata)).toEqual([keyToWire('ns1.gslb.example.org'), keyToWire('ns2.example.net')]);
    expect(ns.map((r) => r.ttlSeconds)).toEqual([3600, 3600]);
    expect(ns.map((r) => r.at.line)).toEqual([12, 12]);
  });

  it('builds records with owner keys, TTLs, RDATA and the line of each value', () => {
    const a = find('www.gslb.example.org', RRType.A);
    expect(a.map((r) => [r.ttlSeconds, r.rdata.toString('hex'), r.at.line, r.text])).toEqual([
      [300, 'c000020a', 19, 'www 300 IN A 192.0.2.10'],
      [300, 'c000020b', 19, 'www 300 IN A 192.0.2.11'],
    ]);
    const [mx] = find('gslb.example.org', RRType.MX);
    expect(mx!.ttlSeconds).toBe(3600);
    expect(mx!.rdata).toEqual(Buffer.concat([Buffer.from([0, 10]), keyToWire('mail.gslb.example.org')]));
    expect(mx!.at.line).toBe(20);
    const [srv] = find('_sip._udp.gslb.example.org', RRType.SRV);
    expect(srv!.rdata).toEqual(Buffer.concat([Buffer.from([0, 0, 0, 5, 0x13, 0xc4]), keyToWire('sip.gslb.example.org')]));
    const [txt] = find('txt.gslb.example.org', RRType.TXT);
    expect(txt!.rdata).toEqual(Buffer.concat([Buffer.from([11]), Buffer.from('v=spf1 -all')]));
    const v6 = find('v6.gslb.example.org', RRType.AAAA);
    expect(v6.map((r) => [r.ttlSeconds, r.at.line])).toEqual([
      [5400, 27],
      [5400, 28],
    ]);
    expect(v6[1]!.rdata.toString('hex')).toBe('20010db8000000000000000000000002');
    const [cname] = find('host.gslb.example.org', RRType.CNAME);
    expect(cname!.rdata).toEqual(keyToWire('www.gslb.example.org'));
    expect(z.records).toHaveLength(1 + 2 + 2 + 1 + 1 + 1 + 2 + 1 + 1);
  });

  it('defaults the zone TTL to 3600 and leaves transferAllow unset when not given', () => {
    const z2 = loadYamlZone(
      'zone: example.org.\nsoa: {mname: ns1, rname: h, serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 1, ttl: 60}\nns: [ns1]\n',
      'z.yaml',
    );
    expect(z2.errors).toEqual([]);
    expect(z2.origin).toBe('example.org');
    expect(z2.transferAllow).toBeUndefined();
    expect(z2.records.map((r) => [r.type, r.ttlSeconds])).toEqual([
      [RRType.SOA, 60],
      [RRType.NS, 3600],
    ]);
  });

  it('the shipped example zone loads and builds', () => {
    const file = path.resolve(import.meta.dirname, '../../zones/gslb.example.org.yaml');
    const built = buildZone(loadYamlZone(fs.readFileSync(file, 'utf8'), file));
    expect(built.ok ? [] : built.errors.map((e) => e.format())).toEqual([]);
  });
});

/** Lines 1–11 of every error case: a valid zone with no records. */
const HEAD = `zone: example.org
ttl: 3600
soa:
  mname: ns1
  rname: hostmaster
  serial: 1
  refresh: 1h
  retry: 10m
  expire: 2w
  minimum: 5m
ns: [ns1]
`;
/** HEAD plus `records:` on line 12, so the first record starts on line 13. */
const withRecords = (lines: string) => HEAD + 'records:\n' + lines;

interface ErrorCase {
  name: string;
  text: string;
  code: string;
  line: number;
  message?: string;
}

const cases: ErrorCase[] = [
  {
    name: 'a typo in a field name',
    text: withRecords('  - name: www\n    type: A\n    tll: 300\n    value: 192.0.2.1\n'),
    code: 'MRD_ERR_ZONE_SCHEMA',
    line: 15,
    message: 'records[0]: unknown field "tll" (did you mean "ttl"?)',
  },
  {
    name: 'an unknown top-level field',
    text: HEAD.replace('ttl: 3600', 'default_ttl: 3600'),
    code: 'MRD_ERR_ZONE_SCHEMA',
    line: 2,
    message: 'unknown field "default_ttl"',
  },
  {
    name: 'a bad IPv4 address, at its list item',
    text: withRecords('  - name: www\n    type: A\n    values:\n      - 192.0.2.1\n      - 192.0.2.300\n'),
    code: 'MRD_ERR_ZONE_RDATA',
    line: 17,
  },
  {
    name: 'a missing soa.serial, at the soa key',
    text: HEAD.replace('  serial: 1\n', ''),
    code: 'MRD_ERR_ZONE_SCHEMA',
    line: 3,
    message: 'soa: missing required field "serial"',
  },
  {
    name: 'a missing required top-level field',
    text: HEAD.replace('ns: [ns1]\n', ''),
    code: 'MRD_ERR_ZONE_SCHEMA',
    line: 1,
    message: 'missing required field "ns"',
  },
  {
    name: 'a duplicate key, at its second occurrence',
    text: withRecords('  - name: www\n    type: A\n    ttl: 30\n    ttl: 60\n    value: 192.0.2.1\n'),
    code: 'MRD_ERR_ZONE_SYNTAX',
    line: 16,
    message: 'syntax error: duplicate key "ttl" (a key may appear once in a map)',
  },
  {
    name: 'a negative TTL',
    text: withRecords('  - { name: ns1, type: A, value: 192.0.2.53 }\n  - { name: www, type: A, ttl: -5, value: 192.0.2.1 }\n'),
    code: 'MRD_ERR_ZONE_TTL',
    line: 14,
    message: 'bad TTL: records[1].ttl: must be from 0 to 2147483647 seconds (RFC 2181 §8), not -5',
  },
  {
    name: 'a TTL of 2^31',
    text: withRecords('  - name: www\n    type: A\n    ttl: 2147483648\n    value: 192.0.2.1\n'),
    code: 'MRD_ERR_ZONE_TTL',
    line: 15,
    message: 'bad TTL: records[0].ttl: must be from 0 to 2147483647 seconds (RFC 2181 §8), not 2147483648',
  },
  {
    name: 'a TTL string over 2^31-1 seconds',
    text: withRecords('  - { name: www, type: A, ttl: 4000w, value: 192.0.2.1 }\n'),
    code: 'MRD_ERR_ZONE_TTL',
    line: 13,
  },
  {
    name: 'a TTL that is not a duration',
    text: HEAD.replace('ttl: 3600', 'ttl: 1 hour'),
    code: 'MRD_ERR_ZONE_SCHEMA',
    line: 2,
  },
  {
    name: 'an SOA timer over 2^32-1',
    text: HEAD.replace('expire: 2w', 'expire: 4294967296'),
    code: 'MRD_ERR_ZONE_SCHEMA',
    line: 9,
    message: 'soa.expire: must be a number of seconds from 0 to 4294967295 or a duration such as 30s, 10m, 1h, 1d, 2w or 1h30m, not 4294967296',
  },
  {
    name: 'a record that is not a map',
    text: withRecords('  - www A 192.0.2.1\n'),
    code: 'MRD_ERR_ZONE_SCHEMA',
    line: 13,
    message: 'records[0]: must be a map of fields, not the text "www A 192.0.2.1"',
  },
  {
    name: 'records that are not a list',
    text: HEAD + 'records: 5\n',
    code: 'MRD_ERR_ZONE_SCHEMA',
    line: 12,
    message: 'records: must be a list, not 5',
  },
  {
    name: 'an unknown record type',
    text: withRecords('  - name: www\n    type: BOGUS\n    value: 192.0.2.1\n'),
    code: 'MRD_ERR_ZONE_TYPE',
    line: 14,
    message: 'unknown record type "BOGUS"',
  },
  {
    name: 'bad MX RDATA',
    text: withRecords('  - { name: "@", type: MX, value: "10 mail" }\n  - { name: "@", type: MX, value: "mail" }\n'),
    code: 'MRD_ERR_ZONE_RDATA',
    line: 14,
  },
  {
    name: 'an owner outside the origin',
    text: withRecords('  - name: www.other.example.\n    type: A\n    value: 192.0.2.1\n'),
    code: 'MRD_ERR_ZONE_OUT_OF_ZONE',
    line: 13,
    message: 'record "www.other.example." is outside the zone origin "example.org"',
  },
  {
    name: 'a bad owner name',
    text: withRecords('  - { name: "a..b", type: A, value: 192.0.2.1 }\n'),
    code: 'MRD_ERR_ZONE_NAME',
    line: 13,
  },
  {
    name: 'a record with both value and values',
    text: withRecords('  - name: www\n    type: A\n    value: 192.0.2.1\n    values: [192.0.2.2]\n'),
    code: 'MRD_ERR_ZONE_SCHEMA',
    line: 13,
    message: 'records[0]: must have exactly one of "value" (one RDATA string) or "values" (a list of them)',
  },
  {
    name: 'a name that YAML reads as a number',
    text: withRecords('  - { name: 10, type: PTR, value: host.example.org. }\n'),
    code: 'MRD_ERR_ZONE_SCHEMA',
    line: 13,
    message: 'records[0].name: must be a string, not 10 (quote it)',
  },
  {
    name: 'a bad transfer ACL entry',
    text: HEAD + 'transfer:\n  allow:\n    - 10.0.0.0/8\n    - 10.0.0.0/33\n',
    code: 'MRD_ERR_ZONE_SCHEMA',
    line: 15,
  },
  {
    name: 'a YAML syntax error',
    text: withRecords('  - { name: www, type: A, value: 192.0.2.1\n  - { name: mail, type: A, value: 192.0.2.2 }\n'),
    code: 'MRD_ERR_ZONE_SYNTAX',
    line: 14,
  },
  {
    name: 'a file that is not a map',
    text: '- just\n- a list\n',
    code: 'MRD_ERR_ZONE_SCHEMA',
    line: 1,
  },
];

describe('loadYamlZone: problems', () => {
  it.each(cases)('$name', ({ text, code, line, message }) => {
    const z = loadYamlZone(text, 'bad.yaml');
    expect(z.errors.length, z.errors.map((e) => e.format()).join('\n')).toBeGreaterThan(0);
    expect(z.errors.map((e) => [e.code, e.line, e.file])).toEqual([[code, line, 'bad.yaml']]);
    const [first] = z.errors;
    if (message !== undefined) expect(first!.message).toBe(message);
  });

  it('collects every problem in the file, not just the first', () => {
    const text =
      HEAD.replace('  serial: 1\n', '') +
      'records:\n' +
      '  - { name: www, type: A, tll: 3, value: 192.0.2.1 }\n' +
      '  - { name: www, type: A, value: 192.0.2.999 }\n' +
      '  - { name: x, type: NOPE, value: "1" }\n';
    const z = loadYamlZone(text, 'bad.yaml');
    expect(z.errors.map((e) => [e.code, e.line])).toEqual([
      ['MRD_ERR_ZONE_SCHEMA', 3],
      ['MRD_ERR_ZONE_SCHEMA', 12],
      ['MRD_ERR_ZONE_RDATA', 13],
      ['MRD_ERR_ZONE_TYPE', 14],
    ]);
    expect(z.errors[0]!.format()).toBe('bad.yaml:3: soa: missing required field "serial"');
  });

  it('names the type and the reason for bad RDATA, and the record as written', () => {
    const z = loadYamlZone(withRecords('  - { name: mx, type: MX, value: "mail" }\n'), 'bad.yaml');
    expect(z.errors[0]!.message).toMatch(/^bad MX record data: ./);
    expect(z.errors[0]!.record).toBe('mx 3600 IN MX mail');
  });

  it('keeps the good records so that zone building reports only real cross-record problems', () => {
    const z = loadYamlZone(withRecords('  - { name: www, type: A, value: 192.0.2.1 }\n  - { name: www, type: A, ttl: -1, value: 192.0.2.2 }\n'), 'bad.yaml');
    expect(z.errors).toHaveLength(1);
    expect(z.records.map((r) => r.type)).toEqual([RRType.SOA, RRType.NS, RRType.A]);
  });
});
