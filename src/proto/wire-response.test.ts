/**
 * The asking side of proto/wire.ts: {@link encodeQuery} read back by the server's own parser, and
 * {@link parseResponse} reading responses from the server's own encoder and from dns-packet (an
 * independent encoder that compresses names inside RDATA), plus malformed messages.
 */
import { describe, expect, it } from 'vitest';
import dnsPacket from 'dns-packet';
import { parseRdataText } from './rdata.js';
import { RRType } from './types.js';
import { canonicalRdata, encodeQuery, encodeResponse, finishResponse, parseQuery, parseResponse, Rcode, rcodeName, type Response } from './wire.js';

function parsed(msg: Buffer): Response {
  const r = parseResponse(msg);
  if (typeof r === 'string') throw new Error(r);
  return r;
}

describe('encodeQuery (RFC 1035 §4.1.1, §4.1.2)', () => {
  it('is a well-formed query to the server parser: ID, question, RD, no OPT unless asked', () => {
    const q = parseQuery(encodeQuery({ id: 0xbeef, qkey: 'www.example.org', qtype: RRType.TXT }))!;
    expect(q).toMatchObject({ id: 0xbeef, qkey: 'www.example.org', qtype: RRType.TXT, qclass: 1, opcode: 0, rcode: Rcode.NOERROR, edns: null });
    expect(q.flags1 & 0x01).toBe(0);
    const rd = parseQuery(encodeQuery({ id: 1, qkey: '', qtype: RRType.SOA, rd: true, udpSize: 1232 }))!;
    expect(rd).toMatchObject({ qkey: '', qtype: RRType.SOA, edns: { udpSize: 1232, version: 0, dnssecOk: false } });
    expect(rd.flags1 & 0x01).toBe(1);
  });

  it('agrees with dns-packet byte for byte', () => {
    const ours = encodeQuery({ id: 4242, qkey: 'a.example', qtype: RRType.AAAA });
    const theirs = dnsPacket.encode({ type: 'query', id: 4242, flags: 0, questions: [{ type: 'AAAA', name: 'a.example', class: 'IN' }] });
    expect(ours.equals(theirs)).toBe(true);
  });

  it('carries a Client Subnet option (RFC 7871 §6) that the server parser and dns-packet both read', () => {
    const address = Buffer.from([198, 51, 100, 128]);
    const msg = encodeQuery({ id: 5, qkey: 'app.example', qtype: RRType.A, udpSize: 1232, clientSubnet: { family: 1, sourcePrefix: 25, address } });
    const q = parseQuery(msg)!;
    expect(q.rcode).toBe(Rcode.NOERROR);
    expect(q.edns).toMatchObject({ udpSize: 1232, clientSubnet: { family: 1, sourcePrefix: 25, address } });
    const theirs = dnsPacket.decode(msg) as {
      additionals: { type: string; options: { code: number; family: number; sourcePrefixLength: number; scopePrefixLength: number; ip: string }[] }[];
    };
    expect(theirs.additionals[0]!.options[0]).toMatchObject({ code: 8, family: 1, sourcePrefixLength: 25, scopePrefixLength: 0, ip: '198.51.100.128' });
    const v6 = parseQuery(
      encodeQuery({ id: 6, qkey: 'app.example', qtype: RRType.AAAA, udpSize: 1232, clientSubnet: { family: 2, sourcePrefix: 0, address: Buffer.alloc(0) } }),
    )!;
    expect(v6.edns?.clientSubnet).toMatchObject({ family: 2, sourcePrefix: 0 });
  });

  it('carries a COOKIE option (RFC 7873 §4) beside Client Subnet, and parseResponse reads the one a reply carries', () => {
    const cookie = Buffer.from('0102030405060708', 'hex');
    const address = Buffer.from([198, 51, 100]);
    const msg = encodeQuery({ id: 9, qkey: 'app.example', qtype: RRType.A, udpSize: 1232, clientSubnet: { family: 1, sourcePrefix: 24, address }, cookie });
    const q = parseQuery(msg)!;
    expect(q.rcode).toBe(Rcode.NOERROR);
    expect(q.edns).toMatchObject({ clientSubnet: { sourcePrefix: 24 }, cookie });
    const theirs = dnsPacket.decode(msg) as { additionals: { options: { code: number; data: Buffer }[] }[] };
    expect(theirs.additionals[0]!.options.map((o) => o.code)).toEqual([8, 10]);
    // The server's reply carries the COOKIE option the pipeline set for the query.
    const reply = Buffer.alloc(28);
    reply.writeUInt16BE(10, 0);
    reply.writeUInt16BE(24, 2);
    cookie.copy(reply, 4);
    q.replyOptions = reply;
    const out = finishResponse(
      q,
      encodeResponse(q, { rcode: 0, aa: true, answer: [], authority: [], additional: [], additionalOptional: true }),
      1232,
      24,
      1232,
    );
    const res = parseResponse(out) as Response;
    expect(res.cookie?.subarray(0, 8)).toEqual(cookie);
    expect(res.cookie?.length).toBe(24);
    expect(res.clientSubnet).toMatchObject({ scopePrefix: 24 });
    expect(() => encodeQuery({ id: 1, qkey: 'x', qtype: 1, cookie })).toThrow(/udpSize/);
  });

  it('refuses a Client Subnet address longer than its prefix, or one without OPT', () => {
    expect(() =>
      encodeQuery({ id: 1, qkey: 'x', qtype: 1, udpSize: 1232, clientSubnet: { family: 1, sourcePrefix: 8, address: Buffer.from([10, 0]) } }),
    ).toThrow(/ceil/);
    expect(() => encodeQuery({ id: 1, qkey: 'x', qtype: 1, clientSubnet: { family: 1, sourcePrefix: 8, address: Buffer.from([10]) } })).toThrow(/udpSize/);
  });

  it('encodes a NOTIFY (RFC 1996 §3.7): opcode 4, AA, the SOA question, the SOA in the answer with its owner compressed', () => {
    const soa = parseRdataText(RRType.SOA, 'ns1.example.org. hostmaster.example.org. 7 3600 600 604800 5', '');
    const msg = encodeQuery({
      id: 77,
      qkey: 'example.org',
      qtype: RRType.SOA,
      opcode: 4,
      aa: true,
      answer: [{ owner: 'example.org', type: RRType.SOA, ttlSeconds: 300, rdatas: [soa] }],
    });
    expect(msg[2]).toBe((4 << 3) | 0x04); // QR=0, opcode NOTIFY, AA=1, TC=0, RD=0
    expect(msg[3]).toBe(0);
    expect([msg.readUInt16BE(4), msg.readUInt16BE(6), msg.readUInt16BE(8), msg.readUInt16BE(10)]).toEqual([1, 1, 0, 0]);
    const answerAt = 12 + 'example.org'.length + 2 + 4;
    expect(msg.readUInt16BE(answerAt)).toBe(0xc00c); // owner: a pointer to the question name
    const theirs = dnsPacket.decode(msg) as dnsPacket.Packet & { opcode?: string };
    expect(theirs.opcode).toBe('NOTIFY');
    expect(theirs.answers![0]).toMatchObject({ type: 'SOA', name: 'example.org', ttl: 300, data: { serial: 7, mname: 'ns1.example.org' } });
    // The server's own parser reads it as a well-formed message with opcode NOTIFY.
    expect(parseQuery(msg)).toMatchObject({ opcode: 4, qtype: RRType.SOA, rcode: Rcode.NOERROR });
  });
});

describe('parseResponse (RFC 1035 §4.1)', () => {
  it('reads what the server encodes: header, question and records', () => {
    const query = parseQuery(encodeQuery({ id: 7, qkey: 'www.example.org', qtype: RRType.A }))!;
    const a = parseRdataText(RRType.A, '192.0.2.1', '');
    const soa = parseRdataText(RRType.SOA, 'ns1.example.org. hostmaster.example.org. 1 3600 600 604800 5', '');
    const enc = encodeResponse(query, {
      rcode: Rcode.NOERROR,
      aa: true,
      answer: [{ owner: 'www.example.org', type: RRType.A, ttlSeconds: 30, rdatas: [a] }],
      authority: [{ owner: 'example.org', type: RRType.SOA, ttlSeconds: 60, rdatas: [soa] }],
      additional: [],
      additionalOptional: true,
    });
    const r = parsed(finishResponse(query, enc, 512, 0, 1232));
    expect(r).toMatchObject({ id: 7, opcode: 0, aa: true, tc: false, rcode: 0, question: { qkey: 'www.example.org', qtype: 1, qclass: 1 }, ednsUdpSize: null });
    expect(r.answer).toEqual([{ owner: 'www.example.org', type: 1, class: 1, ttl: 30, rdata: a }]);
    // The SOA's names were compressed against the question; they come back written out.
    expect(r.authority[0]!.rdata.equals(soa)).toBe(true);
  });

  it('decompresses names inside RDATA (RFC 3597 §4) as dns-packet compresses them, case kept', () => {
    const msg = dnsPacket.encode({
      type: 'response',
      id: 9,
      flags: dnsPacket.AUTHORITATIVE_ANSWER,
      questions: [{ type: 'MX', name: 'Example.org', class: 'IN' }],
      answers: [
        { type: 'MX', name: 'example.org', ttl: 5, data: { preference: 10, exchange: 'Mail.example.org' } },
        { type: 'CNAME', name: 'www.example.org', ttl: 5, data: 'example.org' },
        { type: 'SRV', name: '_x._tcp.example.org', ttl: 5, data: { priority: 1, weight: 2, port: 3, target: 'example.org' } },
      ],
    });
    const r = parsed(msg);
    expect(r.question).toEqual({ qkey: 'example.org', qtype: RRType.MX, qclass: 1 });
    expect(r.answer.map((x) => x.rdata)).toEqual([
      parseRdataText(RRType.MX, '10 Mail.example.org.', ''),
      parseRdataText(RRType.CNAME, 'example.org.', ''),
      parseRdataText(RRType.SRV, '1 2 3 example.org.', ''),
    ]);
  });

  it('canonical RDATA lowers the names inside (RFC 4034 §6.2), and nothing else', () => {
    const mx = (text: string) => canonicalRdata(RRType.MX, parseRdataText(RRType.MX, text, ''));
    expect(mx('10 Mail.EXAMPLE.org.').equals(mx('10 mail.example.org.'))).toBe(true);
    const soa = (text: string) => canonicalRdata(RRType.SOA, parseRdataText(RRType.SOA, text, ''));
    expect(soa('NS1.x. Host.X. 1 2 3 4 5').equals(soa('ns1.x. host.x. 1 2 3 4 5'))).toBe(true);
    // TXT is not a name: case matters.
    const txt = (text: string) => canonicalRdata(RRType.TXT, parseRdataText(RRType.TXT, text, ''));
    expect(txt('"ABC"').equals(txt('"abc"'))).toBe(false);
  });

  it('takes the extended rcode from the OPT record (RFC 6891 §6.1.3) and keeps OPT out of the sections', () => {
    const msg = dnsPacket.encode({
      type: 'response',
      id: 1,
      flags: 0,
      questions: [{ type: 'A', name: 'x', class: 'IN' }],
      additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1400, extendedRcode: 1, ednsVersion: 0, flags: 0, options: [] } as never],
    });
    const r = parsed(msg);
    expect(r.rcode).toBe(Rcode.BADVERS);
    expect(r.ednsUdpSize).toBe(1400);
    expect(r.additional).toEqual([]);
    expect(r.clientSubnet).toBeNull();
  });

  it('reads the Client Subnet scope the server echoes (RFC 7871 §7.2.1)', () => {
    const query = parseQuery(
      encodeQuery({
        id: 8,
        qkey: 'app.example',
        qtype: RRType.A,
        udpSize: 1232,
        clientSubnet: { family: 1, sourcePrefix: 24, address: Buffer.from([81, 2, 69]) },
      }),
    )!;
    const enc = encodeResponse(query, { rcode: Rcode.NOERROR, aa: true, answer: [], authority: [], additional: [], additionalOptional: true });
    const r = parsed(finishResponse(query, enc, 1232, 20, 1232));
    expect(r.clientSubnet).toEqual({ family: 1, sourcePrefix: 24, scopePrefix: 20, address: Buffer.from([81, 2, 69]) });
    expect(r.ednsUdpSize).toBe(1232);
    // An option that overruns its OPT record makes the response malformed.
    const bad = finishResponse(query, enc, 1232, 20, 1232);
    bad.writeUInt16BE(bad.readUInt16BE(bad.length - 9) + 1, bad.length - 9);
    expect(parseResponse(bad)).toMatch(/EDNS option runs past the OPT record/);
  });

  it('names rcodes (RFC 1035 §4.1.1, RFC 6891 §9, RFC 7873 §8), and numbers the rest', () => {
    expect([rcodeName(0), rcodeName(3), rcodeName(5), rcodeName(16), rcodeName(23), rcodeName(22)]).toEqual([
      'NOERROR',
      'NXDOMAIN',
      'REFUSED',
      'BADVERS',
      'BADCOOKIE',
      'RCODE22',
    ]);
  });

  it.each<[string, (b: Buffer) => Buffer, RegExp]>([
    ['shorter than a header', (b) => b.subarray(0, 11), /shorter than a DNS header/],
    ['a query (QR clear)', (b) => Buffer.from([...b.subarray(0, 2), b[2]! & 0x7f, ...b.subarray(3)]), /QR is clear/],
    ['a record cut short', (b) => b.subarray(0, b.length - 2), /runs past the end/],
    ['trailing octets', (b) => Buffer.concat([b, Buffer.from([0])]), /trailing octets/],
    // The answer's owner is a pointer to itself: a loop (RFC 1035 §4.1.4 pointers go backwards).
    [
      'a pointer loop',
      (b) => {
        const c = Buffer.from(b);
        const at = 12 + 3 + 4; // after the question "\x01x\x00" and its type and class
        c.writeUInt16BE(0xc000 | at, at);
        return c;
      },
      /malformed owner name/,
    ],
  ])('%s is reported, not thrown', (_name, damage, reason) => {
    const good = dnsPacket.encode({
      type: 'response',
      id: 3,
      flags: 0,
      questions: [{ type: 'A', name: 'x', class: 'IN' }],
      answers: [{ type: 'A', name: 'x', ttl: 1, data: '192.0.2.1' }],
    });
    expect(typeof parseResponse(good)).toBe('object');
    const r = parseResponse(damage(good));
    expect(r).toMatch(reason);
  });
});

describe('one DNS codec in product code', () => {
  it('no module of src/ but tests imports dns-packet, and it is a devDependency only', async () => {
    const fs = await import('node:fs');
    const path = await import('node:path');
    const src = path.resolve(import.meta.dirname, '..');
    const offenders = (fs.readdirSync(src, { recursive: true }) as string[])
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
      .filter((f) => /from ['"]dns-packet['"]|import\(['"]dns-packet['"]\)|require\(['"]dns-packet['"]\)/.test(fs.readFileSync(path.join(src, f), 'utf8')));
    expect(offenders).toEqual([]);
    const pkg = JSON.parse(fs.readFileSync(path.join(src, '..', 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    expect(pkg.dependencies['dns-packet']).toBeUndefined();
    expect(pkg.devDependencies['dns-packet']).toBeDefined();
  });
});
