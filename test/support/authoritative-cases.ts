/**
 * The authoritative table: one case per rule of authoritative DNS, each named after the RFC
 * section that decides it, against the shipped zones. It runs in two tiers, from this one table:
 * over real UDP and TCP sockets to a running node (test/e2e/authoritative.test.ts), and in-process
 * through dns/pipeline.ts `handleQuery` (src/dns/authoritative.test.ts), so a failure says at once
 * whether the rule or the transport broke.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { buildQuery, decode, flag, type AskOptions, type Reply } from './dns-client.js';

/** How the table reaches a server: each message sent over `transport`, the reply's bytes back (null: none). */
export interface DnsTier {
  send(msg: Buffer, transport: 'udp' | 'tcp'): Promise<Buffer | null>;
}

/**
 * Declares the authoritative table's tests (inside the caller's describe). `makeTier` is called
 * once, before them, for a server of the shipped zones with a UDP payload limit of 1232.
 */
export function authoritativeCases(makeTier: () => Promise<DnsTier> | DnsTier): void {
  let tier: DnsTier;
  beforeAll(async () => {
    tier = await makeTier();
  });

  /** Asks one question through the tier and decodes the reply. */
  const ask = async (name: string, type: string, opts: AskOptions = {}): Promise<Reply> => {
    const raw = await tier.send(buildQuery(name, type, opts), opts.transport ?? 'udp');
    if (!raw) throw new Error(`no reply for ${name} ${type}`);
    return decode(raw);
  };

  const data = (r: Reply, section: 'answers' | 'authorities' | 'additionals' = 'answers') =>
    (r[section] ?? [])
      .filter((a) => a.type !== 'OPT')
      .map((a) => `${a.name} ${a.type} ${typeof a.data === 'string' ? a.data : JSON.stringify(a.data)}`)
      .sort();

  interface Case {
    name: string;
    q: [string, string];
    rcode: string;
    aa: boolean;
    answer?: string[];
    authorityTypes?: string[];
    additional?: string[];
  }

  const cases: Case[] = [
    {
      name: 'RFC 1034 §4.3.2: exact match answers with AA',
      q: ['www.example.net', 'A'],
      rcode: 'NOERROR',
      aa: true,
      answer: ['www.example.net A 192.0.2.80', 'www.example.net A 192.0.2.81'],
    },
    { name: 'RFC 2308 §2.2: NODATA has SOA in authority', q: ['www.example.net', 'MX'], rcode: 'NOERROR', aa: true, answer: [], authorityTypes: ['SOA'] },
    { name: 'RFC 2308 §2.1: NXDOMAIN has SOA in authority', q: ['nope.example.net', 'A'], rcode: 'NXDOMAIN', aa: true, answer: [], authorityTypes: ['SOA'] },
    {
      name: 'RFC 8020 / RFC 4592 §2.2.2: an empty non-terminal is NODATA',
      q: ['dept.example.net', 'A'],
      rcode: 'NOERROR',
      aa: true,
      answer: [],
      authorityTypes: ['SOA'],
    },
    {
      name: 'RFC 1034 §3.6.2: a CNAME chain is followed inside the zone',
      q: ['portal.example.net', 'A'],
      rcode: 'NOERROR',
      aa: true,
      answer: [
        'portal.example.net CNAME web.example.net',
        'web.example.net CNAME www.example.net',
        'www.example.net A 192.0.2.80',
        'www.example.net A 192.0.2.81',
      ],
    },
    {
      name: 'RFC 1034 §4.3.2 3a: a CNAME to another zone is returned alone',
      q: ['cdn.example.net', 'A'],
      rcode: 'NOERROR',
      aa: true,
      answer: ['cdn.example.net CNAME edge.example.org'],
    },
    {
      name: 'RFC 1034 §4.3.2: a CNAME query returns the CNAME itself',
      q: ['web.example.net', 'CNAME'],
      rcode: 'NOERROR',
      aa: true,
      answer: ['web.example.net CNAME www.example.net'],
    },
    {
      name: 'RFC 4592 §3.3.1: a wildcard synthesises the query name as owner',
      q: ['foo.apps.example.net', 'A'],
      rcode: 'NOERROR',
      aa: true,
      answer: ['foo.apps.example.net A 192.0.2.100'],
    },
    {
      name: 'RFC 4592 §3.3.1: deeper names match the wildcard too',
      q: ['a.b.apps.example.net', 'A'],
      rcode: 'NOERROR',
      aa: true,
      answer: ['a.b.apps.example.net A 192.0.2.100'],
    },
    {
      name: 'RFC 4592 §2.2.1: no wildcard where the name exists',
      q: ['static.apps.example.net', 'A'],
      rcode: 'NOERROR',
      aa: true,
      answer: ['static.apps.example.net A 192.0.2.101'],
    },
    {
      name: 'RFC 4592 §2.2.1: an existing name with other data is NODATA, not wildcard',
      q: ['static.apps.example.net', 'AAAA'],
      rcode: 'NOERROR',
      aa: true,
      answer: [],
      authorityTypes: ['SOA'],
    },
    {
      name: 'RFC 4592 §2.3: the wildcard owner itself answers',
      q: ['*.apps.example.net', 'A'],
      rcode: 'NOERROR',
      aa: true,
      answer: ['*.apps.example.net A 192.0.2.100'],
    },
    {
      name: 'RFC 4592 §3.3.1: a wildcard NODATA for another type',
      q: ['foo.apps.example.net', 'TXT'],
      rcode: 'NOERROR',
      aa: true,
      answer: [],
      authorityTypes: ['SOA'],
    },
    {
      name: 'RFC 1034 §4.3.2 3b: below a cut is a referral, AA clear, glue in additional',
      q: ['host.sub.example.net', 'A'],
      rcode: 'NOERROR',
      aa: false,
      answer: [],
      authorityTypes: ['NS', 'NS'],
      additional: ['ns.sub.example.net A 192.0.2.200'],
    },
    {
      name: 'RFC 1034 §4.3.2 3b: the cut itself refers too',
      q: ['sub.example.net', 'A'],
      rcode: 'NOERROR',
      aa: false,
      answer: [],
      authorityTypes: ['NS', 'NS'],
    },
    {
      name: 'RFC 4035 §3.1.4.1: DS at the cut is answered by the parent',
      q: ['sub.example.net', 'DS'],
      rcode: 'NOERROR',
      aa: true,
      answer: [
        'sub.example.net DS {"keyTag":60485,"algorithm":13,"digestType":2,"digest":{"type":"Buffer","data":[212,183,213,32,231,187,95,15,103,103,74,12,206,177,227,224,97,75,147,196,249,233,155,131,131,246,161,228,70,157,165,10]}}',
      ],
    },
    {
      name: 'RFC 1035 §3.3.9: MX targets get addresses in additional',
      q: ['example.net', 'MX'],
      rcode: 'NOERROR',
      aa: true,
      answer: ['example.net MX {"preference":10,"exchange":"mail.example.net"}', 'example.net MX {"preference":20,"exchange":"mail2.example.org"}'],
      additional: ['mail.example.net A 192.0.2.25'],
    },
    {
      name: 'RFC 1035 §3.3.11: NS targets get addresses in additional',
      q: ['example.net', 'NS'],
      rcode: 'NOERROR',
      aa: true,
      answer: ['example.net NS ns1.example.net', 'example.net NS ns2.example.net'],
      additional: ['ns1.example.net A 192.0.2.53', 'ns1.example.net AAAA 2001:db8::53', 'ns2.example.net A 192.0.2.54'],
    },
    {
      name: 'RFC 2782: SRV targets get addresses in additional',
      q: ['_sip._udp.example.net', 'SRV'],
      rcode: 'NOERROR',
      aa: true,
      answer: ['_sip._udp.example.net SRV {"priority":10,"weight":60,"port":5060,"target":"sip.example.net"}'],
      additional: ['sip.example.net A 192.0.2.60'],
    },
    { name: 'RFC 1034 §4.3.2 step 2: a name in no served zone is REFUSED', q: ['www.example.com', 'A'], rcode: 'REFUSED', aa: false, answer: [] },
    {
      name: 'YAML zone: served like any other',
      q: ['app.gslb.example.org', 'A'],
      rcode: 'NOERROR',
      aa: true,
      answer: ['app.gslb.example.org A 192.0.2.10', 'app.gslb.example.org A 192.0.2.11'],
    },
    {
      name: 'YAML zone: CNAME followed to the address',
      q: ['www.gslb.example.org', 'AAAA'],
      rcode: 'NOERROR',
      aa: true,
      answer: ['app.gslb.example.org AAAA 2001:db8::10', 'www.gslb.example.org CNAME app.gslb.example.org'],
    },
  ];

  describe.each(['udp', 'tcp'] as const)('authoritative answers over %s', (transport) => {
    it.each(cases)('$name', async (c) => {
      const r = await ask(c.q[0], c.q[1], { transport, edns: 1232 });
      expect(r.rcode).toBe(c.rcode);
      expect(flag(r, 'aa')).toBe(c.aa);
      expect(flag(r, 'ra')).toBe(false);
      if (c.answer) expect(data(r)).toEqual([...c.answer].sort());
      if (c.authorityTypes) expect((r.authorities ?? []).map((a) => a.type).sort()).toEqual(c.authorityTypes);
      if (c.additional) expect(data(r, 'additionals')).toEqual([...c.additional].sort());
    });
  });

  describe('header and question', () => {
    it('RFC 1035 §4.1.1: RD is echoed, RA stays clear', async () => {
      const on = await ask('www.example.net', 'A', { rd: true });
      const off = await ask('www.example.net', 'A', { rd: false });
      expect(flag(on, 'rd')).toBe(true);
      expect(flag(off, 'rd')).toBe(false);
      expect(flag(on, 'ra')).toBe(false);
    });

    it('RFC 4343 / draft-vixie-dnsext-dns0x20: the question is echoed in the case it was asked', async () => {
      for (const name of ['WwW.ExAmPlE.nEt', 'www.example.net', 'WWW.EXAMPLE.NET', 'wWw.eXaMpLe.NeT']) {
        const r = await ask(name, 'A');
        expect(r.questions![0]!.name).toBe(name);
        expect(r.answers!.length).toBe(2);
      }
    });

    it('RFC 2308 §3: the negative TTL is min(SOA TTL, MINIMUM)', async () => {
      const r = await ask('nope.example.net', 'A');
      expect(r.authorities![0]!.ttl).toBe(300); // SOA TTL 1h, MINIMUM 5m
      const y = await ask('nope.gslb.example.org', 'A');
      expect(y.authorities![0]!.ttl).toBe(60); // SOA TTL 300, MINIMUM 60
    });

    it('RFC 6604 §2.1: a CNAME into a missing name keeps the CNAME and says NXDOMAIN', async () => {
      // portal → web → www exists, so use the wildcard-free part of the YAML zone via a query that misses.
      const r = await ask('gone.gslb.example.org', 'A');
      expect(r.rcode).toBe('NXDOMAIN');
    });

    it('RFC 8482 §4.1: ANY gets a single RRset, not the whole node', async () => {
      const r = await ask('example.net', 'ANY', { transport: 'tcp' });
      const types = new Set(r.answers!.map((a) => a.type));
      expect(types.size).toBe(1);
      expect(flag(r, 'aa')).toBe(true);
    });

    it('RFC 3597 §5: an unknown type is served from its generic form', async () => {
      // dns-packet cannot name TYPE65280, so patch the qtype into an A query.
      const q = buildQuery('unknown.example.net', 'A');
      q.writeUInt16BE(65280, q.length - 4);
      const r = decode((await tier.send(q, 'udp'))!);
      expect(r.rcode).toBe('NOERROR');
      expect(r.answers![0]!.data).toEqual(Buffer.from([0xc0, 0, 2, 1]));
    });

    it('RFC 1035 §4.1.1: opcodes other than QUERY get NOTIMP', async () => {
      for (const opcode of [1, 2, 4, 5]) {
        const q = buildQuery('www.example.net', 'A');
        q[2] = (q[2]! & 0x87) | (opcode << 3);
        const r = decode((await tier.send(q, 'udp'))!);
        expect(r.rcode).toBe('NOTIMP');
      }
    });

    it('RFC 1035 §3.2.4: classes other than IN are refused', async () => {
      const q = buildQuery('www.example.net', 'A');
      q.writeUInt16BE(3, q.length - 2); // CH
      const r = decode((await tier.send(q, 'udp'))!);
      expect(r.rcode).toBe('REFUSED');
    });
  });

  describe('EDNS(0), RFC 6891', () => {
    it('§6.1.1: OPT in the reply only when the query had one', async () => {
      const withOpt = await ask('www.example.net', 'A', { edns: 1232 });
      const without = await ask('www.example.net', 'A');
      expect(withOpt.additionals!.some((a) => a.type === 'OPT')).toBe(true);
      expect((without.additionals ?? []).some((a) => a.type === 'OPT')).toBe(false);
    });

    it('§6.1.3: an unknown EDNS version gets BADVERS and OPT version 0', async () => {
      const q = buildQuery('www.example.net', 'A', { edns: 1232 });
      q[q.length - 11 + 6] = 1; // OPT TTL byte 2: version
      const raw = (await tier.send(q, 'udp'))!;
      // Extended rcode 16 = header 0 + OPT upper bits 1.
      expect(raw[3]! & 0x0f).toBe(0);
      const opt = raw.subarray(raw.length - 11);
      expect(opt.readUInt16BE(1)).toBe(41);
      expect(opt[5]).toBe(1); // extended rcode upper 8 bits
      expect(opt[6]).toBe(0); // version 0
    });

    it('§7 / RFC 1035 §4.2.1: without EDNS an answer over 512 octets is TC=1 and complete over TCP', async () => {
      const udp = await ask('big.example.net', 'A');
      expect(flag(udp, 'tc')).toBe(true);
      expect(udp.raw.length).toBeLessThanOrEqual(512);
      expect(udp.answers ?? []).toEqual([]);
      const tcp = await ask('big.example.net', 'A', { transport: 'tcp' });
      expect(flag(tcp, 'tc')).toBe(false);
      expect(tcp.answers!.length).toBe(40);
    });

    it('§6.2.5: the requester payload size is honoured, capped at our maximum (1232)', async () => {
      const fits = await ask('big.example.net', 'A', { edns: 4096 });
      expect(flag(fits, 'tc')).toBe(false);
      expect(fits.answers!.length).toBe(40);
      expect(fits.raw.length).toBeLessThanOrEqual(1232);
      const small = await ask('big.example.net', 'A', { edns: 512 });
      expect(flag(small, 'tc')).toBe(true);
      expect(small.raw.length).toBeLessThanOrEqual(512);
      // The OPT record is kept in a truncated answer (RFC 6891 §7).
      expect(small.additionals!.some((a) => a.type === 'OPT')).toBe(true);
    });

    it('§6.2.3: a payload size below 512 is treated as 512', async () => {
      const r = await ask('www.example.net', 'A', { edns: 100 });
      expect(flag(r, 'tc')).toBe(false);
      expect(r.answers!.length).toBe(2);
    });
  });

  describe('EDNS Client Subnet, RFC 7871', () => {
    const ecsOf = (r: Reply) => {
      const opt = r.additionals!.find((a) => a.type === 'OPT') as unknown as {
        options: Array<{ code: number; family: number; sourcePrefixLength: number; scopePrefixLength: number; ip: string }>;
      };
      return opt.options.find((o) => o.code === 8);
    };

    it('§7.2.1: echoed with the same family, source prefix and address; scope 0 for static answers', async () => {
      const r = await ask('www.example.net', 'A', { ecs: { family: 1, sourcePrefix: 24, address: '198.51.100.0' } });
      expect(ecsOf(r)).toMatchObject({ family: 1, sourcePrefixLength: 24, scopePrefixLength: 0, ip: '198.51.100.0' });
      const v6 = await ask('www.example.net', 'A', { ecs: { family: 2, sourcePrefix: 56, address: '2001:db8:1234:5600::' } });
      expect(ecsOf(v6)).toMatchObject({ family: 2, sourcePrefixLength: 56, scopePrefixLength: 0 });
    });

    const ecsQuery = (family: number, source: number, scope: number, addr: number[]) => {
      const q = buildQuery('www.example.net', 'A', { edns: 1232 });
      const opt = Buffer.alloc(8 + addr.length);
      opt.writeUInt16BE(8, 0);
      opt.writeUInt16BE(4 + addr.length, 2);
      opt.writeUInt16BE(family, 4);
      opt[6] = source;
      opt[7] = scope;
      Buffer.from(addr).copy(opt, 8);
      const out = Buffer.concat([q, opt]);
      out.writeUInt16BE(opt.length, out.length - opt.length - 2);
      return out;
    };

    it.each([
      ['unknown family', ecsQuery(3, 24, 0, [192, 0, 2])],
      ['source prefix longer than the address', ecsQuery(1, 33, 0, [192, 0, 2, 1, 0])],
      ['non-zero scope in a query', ecsQuery(1, 24, 8, [192, 0, 2])],
      ['address longer than the prefix needs', ecsQuery(1, 16, 0, [192, 0, 2])],
      ['address shorter than the prefix needs', ecsQuery(1, 24, 0, [192, 0])],
      ['bits set beyond the source prefix', ecsQuery(1, 20, 0, [192, 0, 0xff])],
    ])('§7.1.2: malformed ECS (%s) is FORMERR', async (_why, q) => {
      const raw = (await tier.send(q, 'udp'))!;
      expect(raw[3]! & 0x0f).toBe(1);
    });
  });
}
