/**
 * The fast path (encoded-answer cache, patched per query) and the general path (look up and
 * encode every time) must give byte-identical answers. A property test over random queries:
 * names from the zones and outside them, random 0x20 case, IDs, RD/CD bits, EDNS sizes and ECS.
 */
import { describe, expect, it } from 'vitest';
import dnsPacket from 'dns-packet';
import path from 'node:path';
import { handleQuery, type QueryEnv } from './pipeline.js';
import { answerCacheOf } from './cache.js';
import { SnapshotHolder } from '../state/snapshot.js';
import { checkZoneDir } from '../state/file-source.js';

const zonesDir = path.resolve(import.meta.dirname, '../../zones');
const names = [
  'www.example.net',
  'example.net',
  'portal.example.net',
  'cdn.example.net',
  'x.apps.example.net',
  'a.b.apps.example.net',
  'static.apps.example.net',
  'dept.example.net',
  'eng.dept.example.net',
  'host.sub.example.net',
  'sub.example.net',
  'big.example.net',
  'nope.example.net',
  '_sip._udp.example.net',
  'txt.example.net',
  'unknown.example.net',
  'app.gslb.example.org',
  'www.gslb.example.org',
  'x.edge.gslb.example.org',
  'gslb.example.org',
  'www.example.com',
];
const types = ['A', 'AAAA', 'NS', 'SOA', 'MX', 'TXT', 'SRV', 'CNAME', 'DS', 'CAA', 'ANY', 'PTR', 'NAPTR'];

function seeded(seed: number) {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
}

describe('fast path and general path', () => {
  it('give byte-identical answers for 5,000 random queries', async () => {
    const { zones, errors } = await checkZoneDir(zonesDir);
    expect(errors).toEqual([]);
    const cached = new SnapshotHolder(zones);
    const uncached = new SnapshotHolder(zones);
    const fastEnv: QueryEnv = { snapshots: cached, options: { maxUdpPayload: 1232, useCache: true } };
    const generalEnv: QueryEnv = { snapshots: uncached, options: { maxUdpPayload: 1232, useCache: false } };
    const r = seeded(42);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
    let hits = 0;
    for (let i = 0; i < 5000; i++) {
      const name = [...pick(names)].map((c) => (r() < 0.5 ? c.toUpperCase() : c)).join('');
      const edns = r() < 0.6;
      const ecs = edns && r() < 0.5;
      const msg = dnsPacket.encode({
        type: 'query',
        id: Math.floor(r() * 65536),
        flags: (r() < 0.5 ? dnsPacket.RECURSION_DESIRED : 0) | (r() < 0.3 ? dnsPacket.CHECKING_DISABLED : 0),
        questions: [{ name, type: pick(types) as dnsPacket.RecordType }],
        additionals: edns
          ? [
              {
                type: 'OPT',
                name: '.',
                udpPayloadSize: pick([512, 1232, 4096, 100]),
                flags: r() < 0.3 ? dnsPacket.DNSSEC_OK : 0,
                options: ecs ? [{ code: 'CLIENT_SUBNET', family: 1, sourcePrefixLength: 24, scopePrefixLength: 0, ip: '198.51.100.0' }] : [],
              } as unknown as dnsPacket.Answer,
            ]
          : [],
      });
      const transport = r() < 0.8 ? 'udp' : 'tcp';
      const before = answerCacheOf(cached.current).size;
      const fast = handleQuery(msg, { transport, remoteAddress: '127.0.0.1' }, fastEnv);
      const fastAgain = handleQuery(msg, { transport, remoteAddress: '127.0.0.1' }, fastEnv);
      const general = handleQuery(msg, { transport, remoteAddress: '127.0.0.1' }, generalEnv);
      if (answerCacheOf(cached.current).size === before) hits++;
      expect(fast).toEqual(general);
      expect(fastAgain).toEqual(general);
    }
    // Both paths were exercised: many first queries were already cached by earlier ones.
    expect(hits).toBeGreaterThan(1000);
  });
});
