/**
 * The signing step through handleQuery, checked by verifying every RRSIG with node:crypto against
 * the RRset it covers (RFC 4034 §3.1.8.1, RFC 4035 §5.3), and the shape of each kind of signed
 * answer: compact denial (RFC 9824), wildcard proofs, referrals, DO=0, CO, the caches.
 */
import { createPublicKey, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { handleQuery, type QueryEnv } from './pipeline.js';
import { generateKey, signingKeys, type KeyRecord } from '../dnssec/keys.js';
import { ZoneSigner, signatureCounters } from '../dnssec/signer.js';
import { signingData } from '../proto/dnssec.js';
import { splitKey } from '../proto/name.js';
import { formatRdata } from '../proto/rdata.js';
import { RRType, typeToName } from '../proto/types.js';
import { Rcode, encodeQuery, parseResponse, type Response, type ResponseRecord } from '../proto/wire.js';
import { SnapshotHolder } from '../state/snapshot.js';
import { loadZoneText } from '../zone/load.js';

const ZONE = `
zone: s.example
ttl: 300
soa: { mname: ns1, rname: hostmaster, serial: 1, refresh: 1h, retry: 10m, expire: 1w, minimum: 60 }
ns: [ns1]
dnssec: {}
records:
  - { name: ns1, type: A, value: 192.0.2.53 }
  - { name: www, type: A, value: 192.0.2.1 }
  - { name: alias, type: CNAME, value: www }
  - { name: "*.wild", type: A, value: 192.0.2.9 }
  - { name: host.ent, type: TXT, value: '"x"' }
  - { name: kid, type: NS, value: ns.kid }
  - { name: ns.kid, type: A, value: 192.0.2.99 }
  - { name: secure, type: NS, value: ns.kid }
  - { name: secure, type: DS, value: "12345 13 2 0102030405060708091011121314151617181920212223242526272829303132" }
regions:
  - { id: r1, location: { lat: 50, lon: 8 }, country: DE }
pools:
  - id: p
    endpoints: [ { id: a, address: 198.51.100.1, region: r1 }, { id: b, address: 198.51.100.2, region: r1 } ]
policies:
  - { name: lb, type: A, policy: { weighted: { pool: p } } }
`;

function setup(opts: { document?: boolean } = {}) {
  const built = loadZoneText(opts.document === false ? ZONE.replace('dnssec: {}\n', '') : ZONE, 's.example.yaml');
  if (!built.ok) throw new Error(built.errors.map((e) => e.message).join('; '));
  const zone = built.zone;
  const now = new Date();
  const record: KeyRecord = {
    version: 1,
    zone: zone.origin,
    enabled: false,
    algorithm: 13,
    dnskeyTtlSeconds: null,
    keys: [generateKey(13, now)],
    rollover: null,
  };
  const signer = new ZoneSigner(zone.origin, signingKeys(record, now), 'document', null);
  const holder = new SnapshotHolder([zone]);
  holder.swapSigners(new Map([[zone.origin, signer]]));
  const env: QueryEnv = { snapshots: holder, options: { maxUdpPayload: 4096, useCache: true } };
  const ask = (name: string, type: number, q: { dnssecOk?: boolean; co?: boolean; transport?: 'udp' | 'tcp' } = {}): Response => {
    let msg = encodeQuery({ id: 7, qkey: name, qtype: type, udpSize: 4096, dnssecOk: q.dnssecOk ?? true });
    if (q.co) {
      msg = Buffer.from(msg);
      msg[msg.length - 4]! |= 0x40; // EDNS flags' second bit: Compact Answers OK (RFC 9824 §4)
    }
    const out = handleQuery(msg, { transport: q.transport ?? 'udp', remoteAddress: '192.0.2.200' }, env);
    const res = parseResponse(out as Buffer);
    if (typeof res === 'string') throw new Error(res);
    return res;
  };
  return { zone, signer, ask, holder };
}

/** Verifies every RRSIG of `records` against its RRset in the same list; returns how many. */
function verifyAll(records: readonly ResponseRecord[], signer: ZoneSigner): number {
  const publicKey = createPublicKey(signer.active.privateKey);
  let n = 0;
  for (const sig of records.filter((r) => r.type === RRType.RRSIG)) {
    const covered = sig.rdata.readUInt16BE(0);
    const labels = sig.rdata[3]!;
    const origTtl = sig.rdata.readUInt32BE(4);
    let signerEnd = 18;
    while (sig.rdata[signerEnd]! !== 0) signerEnd += sig.rdata[signerEnd]! + 1;
    const prefix = sig.rdata.subarray(0, signerEnd + 1);
    const signature = sig.rdata.subarray(signerEnd + 1);
    const parts = splitKey(sig.owner);
    // RFC 4035 §5.3.2: fewer labels than the owner means a wildcard expansion.
    const signOwner = labels < parts.length ? ['*', ...parts.slice(parts.length - labels)].join('.') : sig.owner;
    const rrset = records.filter((r) => r.owner === sig.owner && r.type === covered).map((r) => r.rdata);
    expect(rrset.length, `RRset ${typeToName(covered)} ${sig.owner}`).toBeGreaterThan(0);
    const data = signingData(Buffer.from(prefix), signOwner, covered, origTtl, rrset);
    expect(verify('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature), `RRSIG ${typeToName(covered)} ${sig.owner}`).toBe(true);
    n++;
  }
  return n;
}

const types = (records: readonly ResponseRecord[]) => records.map((r) => `${typeToName(r.type)} ${r.owner}`);
const nsecText = (records: readonly ResponseRecord[]) =>
  records.filter((r) => r.type === RRType.NSEC).map((r) => `${r.owner} ${formatRdata(RRType.NSEC, r.rdata)}`);

describe('signed answers (DO=1 to a signed zone)', () => {
  it('signs a static answer, and the SOA-less positive answer has no NSEC', () => {
    const { ask, signer } = setup();
    const r = ask('www.s.example', RRType.A);
    expect(types(r.answer)).toEqual(['A www.s.example', 'RRSIG www.s.example']);
    expect(verifyAll(r.answer, signer)).toBe(1);
  });

  it('signs a CNAME chain link by link', () => {
    const { ask, signer } = setup();
    const r = ask('alias.s.example', RRType.A);
    expect(types(r.answer)).toEqual(['CNAME alias.s.example', 'RRSIG alias.s.example', 'A www.s.example', 'RRSIG www.s.example']);
    expect(verifyAll(r.answer, signer)).toBe(2);
  });

  it('signs a wildcard answer under the wildcard (labels 3) and proves the next closer name does not exist', () => {
    const { ask, signer } = setup();
    const r = ask('a.b.wild.s.example', RRType.A);
    const sig = r.answer.find((x) => x.type === RRType.RRSIG)!;
    expect(sig.rdata[3]).toBe(3); // RFC 4034 §3.1.3: *.wild.s.example has 3 labels besides *
    expect(verifyAll(r.answer, signer)).toBe(1);
    const [nsec] = nsecText(r.authority);
    // Covers b.wild.s.example (the next closer name) and its subtree, nothing else.
    expect(nsec).toMatch(/^a\\255.*\.wild\.s\.example b\\000\.wild\.s\.example\. RRSIG NSEC$/);
    expect(verifyAll(r.authority, signer)).toBe(1);
  });

  it('answers NXDOMAIN as NOERROR with an NXNAME NSEC at the name (RFC 9824 §3.2)', () => {
    const { ask, signer } = setup();
    const r = ask('nope.s.example', RRType.A);
    expect(r.rcode).toBe(Rcode.NOERROR);
    expect(nsecText(r.authority)).toEqual(['nope.s.example \\000.nope.s.example. RRSIG NSEC NXNAME']);
    expect(types(r.authority)).toContain('SOA s.example');
    expect(verifyAll(r.authority, signer)).toBe(2);
  });

  it('keeps the NXDOMAIN rcode for a query with Compact Answers OK (RFC 9824 §4)', () => {
    const { ask } = setup();
    const r = ask('nope.s.example', RRType.A, { co: true });
    expect(r.rcode).toBe(Rcode.NXDOMAIN);
    expect(nsecText(r.authority)).toEqual(['nope.s.example \\000.nope.s.example. RRSIG NSEC NXNAME']);
  });

  it('denies a type with an NSEC listing the types the name has (RFC 9824 §3.1)', () => {
    const { ask, signer } = setup();
    expect(nsecText(ask('www.s.example', RRType.MX).authority)).toEqual(['www.s.example \\000.www.s.example. A RRSIG NSEC']);
    // The apex lists the signer's records too.
    expect(nsecText(ask('s.example', RRType.MX).authority)).toEqual(['s.example \\000.s.example. NS SOA RRSIG NSEC DNSKEY CDS CDNSKEY']);
    // An empty non-terminal has nothing but RRSIG and NSEC.
    const ent = ask('ent.s.example', RRType.A);
    expect(nsecText(ent.authority)).toEqual(['ent.s.example \\000.ent.s.example. RRSIG NSEC']);
    expect(verifyAll(ent.authority, signer)).toBe(2);
    // A policy name lists its policy type.
    expect(nsecText(ask('lb.s.example', RRType.TXT).authority)).toEqual(['lb.s.example \\000.lb.s.example. A RRSIG NSEC']);
  });

  it('signs a policy answer as the RRset the client receives', () => {
    const { ask, signer } = setup();
    const r = ask('lb.s.example', RRType.A);
    expect(types(r.answer)[0]).toBe('A lb.s.example');
    expect(verifyAll(r.answer, signer)).toBe(1);
  });

  it('leaves a referral unsigned but for the proof that the child has no DS, or its signed DS', () => {
    const { ask, signer } = setup();
    const insecure = ask('host.kid.s.example', RRType.A);
    expect(insecure.aa).toBe(false);
    expect(types(insecure.authority)).toEqual(['NS kid.s.example', 'NSEC kid.s.example', 'RRSIG kid.s.example']);
    expect(nsecText(insecure.authority)).toEqual(['kid.s.example \\000.kid.s.example. NS RRSIG NSEC']);
    expect(types(insecure.additional)).toEqual(['A ns.kid.s.example']); // glue, unsigned (RFC 4035 §2.2)
    verifyAll(insecure.authority, signer);
    const secure = ask('www.secure.s.example', RRType.A);
    expect(types(secure.authority)).toEqual(['NS secure.s.example', 'DS secure.s.example', 'RRSIG secure.s.example']);
    expect(verifyAll(secure.authority, signer)).toBe(1);
  });

  it('answers DNSKEY, CDS and CDNSKEY at the apex, signed', () => {
    const { ask, signer } = setup();
    for (const t of [RRType.DNSKEY, RRType.CDS, RRType.CDNSKEY]) {
      const r = ask('s.example', t);
      expect(types(r.answer)).toEqual([`${typeToName(t)} s.example`, 'RRSIG s.example']);
      expect(verifyAll(r.answer, signer)).toBe(1);
    }
    expect(formatRdata(RRType.DNSKEY, ask('s.example', RRType.DNSKEY).answer[0]!.rdata)).toMatch(/^257 3 13 /);
  });

  it('adds nothing for DO=0, and NXDOMAIN stays NXDOMAIN', () => {
    const { ask } = setup();
    expect(types(ask('www.s.example', RRType.A, { dnssecOk: false }).answer)).toEqual(['A www.s.example']);
    const nx = ask('nope.s.example', RRType.A, { dnssecOk: false });
    expect(nx.rcode).toBe(Rcode.NXDOMAIN);
    expect(nx.authority.some((r) => r.type === RRType.NSEC || r.type === RRType.RRSIG)).toBe(false);
    // DNSKEY is part of the zone's data, whatever the DO bit.
    expect(types(ask('s.example', RRType.DNSKEY, { dnssecOk: false }).answer)).toEqual(['DNSKEY s.example']);
  });

  it('signs only zones that ask: a signer alone does not sign a zone whose document has no dnssec:', () => {
    const { ask } = setup({ document: false });
    expect(types(ask('www.s.example', RRType.A).answer)).toEqual(['A www.s.example']);
  });

  it('signs each RRset once: repeats come from the caches', () => {
    const { ask } = setup();
    ask('www.s.example', RRType.A);
    const made = signatureCounters.made;
    for (let i = 0; i < 50; i++) ask('www.s.example', RRType.A);
    for (let i = 0; i < 50; i++) ask('lb.s.example', RRType.A);
    const afterPolicies = signatureCounters.made;
    expect(afterPolicies - made).toBeLessThanOrEqual(2); // one per distinct policy decision
    // A wildcard's signature serves every name it synthesises.
    ask('one.wild.s.example', RRType.A);
    const before = signatureCounters.made;
    ask('two.wild.s.example', RRType.A);
    expect(signatureCounters.made - before).toBe(1); // only the new name's NSEC
  });

  it('the same answers over TCP', () => {
    const { ask, signer } = setup();
    const r = ask('alias.s.example', RRType.A, { transport: 'tcp' });
    expect(verifyAll(r.answer, signer)).toBe(2);
  });
});

describe('the ZoneSigner', () => {
  it('refreshes a signature once it is due, and jitters expirations', () => {
    let now = Date.UTC(2026, 11, 1);
    const record: KeyRecord = {
      version: 1,
      zone: 'z.example',
      enabled: true,
      algorithm: 15,
      dnskeyTtlSeconds: null,
      keys: [generateKey(15, new Date(now))],
      rollover: null,
    };
    const signer = new ZoneSigner('z.example', signingKeys(record, new Date(now)), 'api', null, { now: () => now });
    const set = { owner: 'a.z.example', type: RRType.A, ttlSeconds: 60, rdatas: [Buffer.from([192, 0, 2, 1])] };
    const first = signer.sign(set, set.owner);
    expect(signer.sign(set, set.owner)).toBe(first);
    const exp = first.rdatas[0]!.readUInt32BE(8);
    const inc = first.rdatas[0]!.readUInt32BE(12);
    expect(inc).toBe(now / 1000 - 3600);
    expect(exp - now / 1000).toBeGreaterThan(13 * 86400);
    expect(exp - now / 1000).toBeLessThanOrEqual(14 * 86400);
    now = first.refreshAt + 1;
    expect(signer.sign(set, set.owner)).not.toBe(first);
  });
});
