/**
 * `GET /v1/simulate` against dig, record for record: a node serving a zone of many types (HTTPS,
 * SVCB, SMIMEA, TLSA, a private TYPEnnn, MX, TXT, CAA…) is asked the same question by dig over UDP
 * and by the simulator, and the answer, authority and additional sections agree in presentation
 * form (owner, TTL, class, type, RDATA text as dig prints it), as does the rcode. Types are taken
 * by mnemonic in any case and as RFC 3597 §5 `TYPEnnn`; an unknown type or an impossible name is
 * a 400 problem naming the field.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dig, hasCommand, startTestNode, tempZones } from '../support/tools.js';
import type { RunningNode } from '../../src/node/node.js';
import { typeFromName } from '../../src/proto/types.js';
import { parseRdataText } from '../../src/proto/rdata.js';

const ZONE = `$ORIGIN sim.test.
$TTL 300
@        IN SOA ns1 hostmaster 7 3600 600 604800 60
@        IN NS  ns1
ns1      IN A   192.0.2.53
@        IN A   192.0.2.1
@        IN AAAA 2001:db8::1
@        IN MX  10 mail
@        IN MX  20 mail2.example.org.
mail     IN A   192.0.2.25
@        IN TXT "v=spf1 mx -all" "a \\"quoted\\" second string"
@        IN CAA 0 issue "letsencrypt.org"
@        IN CAA 128 iodef "mailto:security@sim.test"
www      IN HTTPS 1 . mandatory=alpn,port alpn="h2,h3,a\\\\,b" no-default-alpn port=8443 ipv4hint=192.0.2.80,192.0.2.81 ech=AQIDBA== ipv6hint=2001:db8::80 key65333="x y"
www      IN A   192.0.2.80
alias    IN HTTPS 0 www
_8443._https.api IN SVCB 16 www alpn=h2 port=8443
_443._tcp IN TLSA 3 1 1 2BB1F4F3A2F1C8D6E0B7A9C5D4E3F2A1B0C9D8E7F6A5B4C3D2E1F0A9B8C7D6E5
smime    IN SMIMEA 3 0 1 00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF
private  IN TYPE65280 \\# 4 0A000001
_sip._udp IN SRV 10 60 5060 sip
sip      IN A   192.0.2.60
web      IN CNAME www
sub      IN NS  ns.sub
ns.sub   IN A   192.0.2.99
`;

let node: RunningNode;
let zones: string;
let base: string;

beforeAll(async () => {
  zones = tempZones();
  fs.writeFileSync(path.join(zones, 'sim.test.zone'), ZONE);
  node = await startTestNode(zones);
  base = `http://127.0.0.1:${node.admin.port}`;
});
afterAll(async () => {
  await node?.stop();
  fs.rmSync(zones, { recursive: true, force: true });
});

interface Rec {
  name: string;
  ttl: number;
  class: string;
  type: string;
  data: string;
}

async function simulate(query: string): Promise<{ status: number; type: string | null; json: any }> {
  const res = await fetch(`${base}/v1/simulate?${query}`);
  return { status: res.status, type: res.headers.get('content-type'), json: await res.json() };
}

/** One section of dig's output (`+noall +answer` and the like), as records. */
function digRecords(out: string): Rec[] {
  return out
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith(';'))
    .map((l) => {
      const m = /^(\S+)\s+(\d+)\s+(\S+)\s+(\S+)\s+(.*)$/.exec(l);
      if (!m) throw new Error(`dig printed a line that is not a record: ${l}`);
      return { name: m[1]!, ttl: Number(m[2]), class: m[3]!, type: m[4]!, data: m[5]! };
    });
}

const sorted = (recs: readonly Rec[]): Rec[] => [...recs].sort((a, b) => `${a.type} ${a.data}`.localeCompare(`${b.type} ${b.data}`));

/**
 * dig splits long hex and base64 fields into chunks of 56 characters (TLSA, SMIMEA, DS, DNSKEY);
 * the simulator writes them as one token. Both are the same RDATA (RFC 1035 §5.1: the tokens
 * are concatenated), so with `blobs` the records are compared by their wire form as well as by
 * everything else; without it, the RDATA text must be exactly dig's.
 */
function comparable(recs: readonly Rec[], blobs: boolean): unknown[] {
  return sorted(recs).map((r) => (blobs ? { ...r, data: parseRdataText(typeFromName(r.type)!, r.data, '').toString('hex') } : r));
}

/** Asks dig and the simulator the same question and checks that they agree: rcode and every section. */
async function agree(name: string, type: string, opts: { blobs?: boolean } = {}): Promise<Rec[]> {
  const sim = await simulate(`name=${encodeURIComponent(name)}&type=${encodeURIComponent(type)}`);
  expect(sim.status, JSON.stringify(sim.json)).toBe(200);
  const args = [name, type, '+norecurse'];
  const [answer, authority, additional, status] = await Promise.all([
    dig(node.dns.port, [...args, '+noall', '+answer']),
    dig(node.dns.port, [...args, '+noall', '+authority']),
    dig(node.dns.port, [...args, '+noall', '+additional']),
    dig(node.dns.port, [...args, '+noall', '+comments']),
  ]);
  expect(sim.json.answer.rcode).toBe(/status: (\w+)/.exec(status)?.[1]);
  const blobs = opts.blobs ?? false;
  expect(comparable(sim.json.answer.records, blobs), `${name} ${type}: answer`).toEqual(comparable(digRecords(answer), blobs));
  expect(comparable(sim.json.answer.authority, blobs), `${name} ${type}: authority`).toEqual(comparable(digRecords(authority), blobs));
  expect(comparable(sim.json.answer.additional, blobs), `${name} ${type}: additional`).toEqual(comparable(digRecords(additional), blobs));
  return sim.json.answer.records;
}

describe.skipIf(!hasCommand('dig'))('simulate agrees with dig', () => {
  it('HTTPS, and TYPE65 the same (RFC 3597 §5), in the presentation form dig prints (RFC 9460 §2.1)', async () => {
    const https = await agree('www.sim.test', 'HTTPS');
    expect(https).toEqual([
      {
        name: 'www.sim.test.',
        ttl: 300,
        class: 'IN',
        type: 'HTTPS',
        data: '1 . mandatory=alpn,port alpn="h2,h3,a\\\\,b" no-default-alpn port=8443 ipv4hint=192.0.2.80,192.0.2.81 ech=AQIDBA== ipv6hint=2001:db8::80 key65333="x y"',
      },
    ]);
    expect(await agree('www.sim.test', 'TYPE65')).toEqual(https);
    // Any case, as DNS mnemonics are (RFC 3597 §5 and proto/types.ts).
    const lower = await simulate('name=www.sim.test&type=https');
    expect(lower.json.answer.records).toEqual(https);
    expect(lower.json.question.type).toBe('HTTPS');
    expect((await simulate('name=www.sim.test&type=type65')).json.question.type).toBe('HTTPS');
    await agree('alias.sim.test', 'HTTPS');
  });

  it('SVCB, SMIMEA, TLSA and a private type without a text format', async () => {
    expect((await agree('_8443._https.api.sim.test', 'SVCB'))[0]!.data).toBe('16 www.sim.test. alpn="h2" port=8443');
    expect((await agree('smime.sim.test', 'SMIMEA', { blobs: true }))[0]!.data).toBe('3 0 1 00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF');
    expect((await agree('_443._tcp.sim.test', 'TLSA', { blobs: true }))[0]!.data).toBe(
      '3 1 1 2BB1F4F3A2F1C8D6E0B7A9C5D4E3F2A1B0C9D8E7F6A5B4C3D2E1F0A9B8C7D6E5',
    );
    expect((await agree('private.sim.test', 'TYPE65280'))[0]).toEqual({
      name: 'private.sim.test.',
      ttl: 300,
      class: 'IN',
      type: 'TYPE65280',
      data: '\\# 4 0A000001',
    });
  });

  it('A, AAAA, MX, TXT, CAA, SRV, SOA and NS in presentation form, with the additional section', async () => {
    expect(await agree('sim.test', 'A')).toEqual([{ name: 'sim.test.', ttl: 300, class: 'IN', type: 'A', data: '192.0.2.1' }]);
    expect((await agree('sim.test', 'AAAA'))[0]!.data).toBe('2001:db8::1');
    expect((await agree('sim.test', 'MX')).map((r) => r.data).sort()).toEqual(['10 mail.sim.test.', '20 mail2.example.org.']);
    expect((await agree('sim.test', 'TXT'))[0]!.data).toBe('"v=spf1 mx -all" "a \\"quoted\\" second string"');
    expect((await agree('sim.test', 'CAA')).map((r) => r.data).sort()).toEqual(['0 issue "letsencrypt.org"', '128 iodef "mailto:security@sim.test"']);
    expect((await agree('_sip._udp.sim.test', 'SRV'))[0]!.data).toBe('10 60 5060 sip.sim.test.');
    expect((await agree('sim.test', 'SOA'))[0]!.data).toBe('ns1.sim.test. hostmaster.sim.test. 7 3600 600 604800 60');
    await agree('sim.test', 'NS');
  });

  it('a CNAME followed, NXDOMAIN and NODATA with the SOA in authority, a referral with glue, NOTIMP for a meta type', async () => {
    expect((await agree('web.sim.test', 'A')).map((r) => r.type)).toEqual(['CNAME', 'A']);
    const nx = await simulate('name=nothing.sim.test&type=A');
    expect(nx.json.answer.rcode).toBe('NXDOMAIN');
    expect(nx.json.answer.authority[0]).toMatchObject({ name: 'sim.test.', type: 'SOA', class: 'IN' });
    await agree('nothing.sim.test', 'A');
    await agree('mail.sim.test', 'HTTPS'); // NODATA
    await agree('host.sub.sim.test', 'A'); // referral: NS in authority, glue in additional
    const referral = (await simulate('name=host.sub.sim.test&type=A')).json.answer;
    expect([referral.aa, referral.records, referral.authority, referral.additional]).toEqual([
      false,
      [],
      [{ name: 'sub.sim.test.', ttl: 300, class: 'IN', type: 'NS', data: 'ns.sub.sim.test.' }],
      [{ name: 'ns.sub.sim.test.', ttl: 300, class: 'IN', type: 'A', data: '192.0.2.99' }],
    ]);
    // TYPE0 is reserved (RFC 6895 §3.1): the server answers NOTIMP, and so does the simulator.
    const zero = await simulate('name=sim.test&type=TYPE0');
    expect([zero.status, zero.json.answer.rcode]).toEqual([200, 'NOTIMP']);
    await agree('sim.test', 'TYPE0');
  });
});

describe('simulate refuses what is not a question', () => {
  it.each([
    ['type=BOGUS', 'type', /"BOGUS" is not a record type/],
    ['type=TYPE65536', 'type', /not a record type/],
    ['type=', 'type', /not a record type/],
    [`type=A&name=${'x'.repeat(64)}.sim.test`, 'name', /label over 63 octets/],
  ])('%s is a 400 problem naming %s', async (query, field, detail) => {
    const q = query.includes('name=') ? query : `name=www.sim.test&${query}`;
    const r = await simulate(q);
    expect(r.status).toBe(400);
    expect(r.type).toMatch(/^application\/problem\+json/);
    expect(r.json).toMatchObject({ status: 400, code: 'MRD_ERR_API_BAD_REQUEST', errors: [{ field }] });
    expect(r.json.detail).toMatch(detail);
  });
});
