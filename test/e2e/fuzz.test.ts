/**
 * Fuzzing: 100,000 random and mutated packets. Every one goes through the pipeline directly
 * (no exception, and any reply is a well-formed DNS message for the same ID), and the same
 * packets are fired at real server processes over UDP — one on node:dgram, one on the batched
 * path (recvmmsg/sendmmsg, dns/udp-batched.ts), one with two DNS workers — each of which must
 * still answer correctly after, and log no failed query.
 */
import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import dnsPacket from 'dns-packet';
import { buildQuery } from '../support/dns-client.js';
import { ask } from '../support/dns-client.js';
import { spawnMeridian, shippedZones, type MeridianProcess } from '../support/tools.js';
import { DEFAULT_PIPELINE_OPTIONS, handleQuery, type QueryEnv } from '../../src/dns/pipeline.js';
import { SnapshotHolder } from '../../src/state/snapshot.js';
import { checkZoneDir } from '../../src/state/file-source.js';
import { loadNative } from '../../src/dns/native.js';

const TOTAL = 100_000;

/** A seeded PRNG (mulberry32), so a failure can be replayed. */
function rng(seed: number): () => number {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const seeds = [
  buildQuery('www.example.net', 'A'),
  buildQuery('big.example.net', 'A', { edns: 4096 }),
  buildQuery('x.apps.example.net', 'AAAA', { ecs: { family: 1, sourcePrefix: 24, address: '192.0.2.0' } }),
  buildQuery('example.net', 'AXFR'),
  buildQuery('portal.example.net', 'CNAME', { edns: 512 }),
  buildQuery('host.sub.example.net', 'NS', { ecs: { family: 2, sourcePrefix: 48, address: '2001:db8:1::' } }),
];

function packets(count: number, seed: number): Buffer[] {
  const r = rng(seed);
  const int = (n: number) => Math.floor(r() * n);
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const mode = int(8);
    if (mode === 0) {
      // Pure noise, with the QR bit clear half the time so it is not dropped at once.
      const b = Buffer.alloc(int(600));
      for (let j = 0; j < b.length; j++) b[j] = int(256);
      if (b.length > 2 && r() < 0.5) b[2]! &= 0x7f;
      out.push(b);
      continue;
    }
    const b = Buffer.from(seeds[int(seeds.length)]!);
    let m: Buffer = b;
    switch (mode) {
      case 1: // flip bits
        for (let k = 0, n = 1 + int(8); k < n; k++) m[int(m.length)]! ^= 1 << int(8);
        break;
      case 2: // truncate
        m = m.subarray(0, int(m.length));
        break;
      case 3: // trailing garbage
        m = Buffer.concat([m, Buffer.from(Array.from({ length: 1 + int(40) }, () => int(256)))]);
        break;
      case 4: // section counts
        m.writeUInt16BE(int(4) === 0 ? 0xffff : int(4), 4 + 2 * int(4));
        break;
      case 5: // compression pointers in the question, forward or self-referencing
        m[12] = 0xc0;
        m[13] = int(3) === 0 ? 12 : int(m.length + 20);
        break;
      case 6: // over-long labels and names
        m[12 + int(4)] = 63 + int(192);
        break;
      default: // random bytes at random places
        for (let k = 0, n = 1 + int(16); k < n; k++) m[int(m.length)] = int(256);
    }
    if (m.length > 2 && r() < 0.9) m[2]! &= 0x7f;
    out.push(m);
  }
  return out;
}

const native = loadNative();
const servers: { name: string; args: string[]; native: boolean }[] = [
  { name: 'node:dgram', args: ['--udp-io', 'dgram'], native: false },
  { name: 'the batched path', args: ['--udp-io', 'batched'], native: true },
  { name: 'two DNS workers (batched)', args: ['--udp-io', 'batched', '--workers', '2'], native: true },
];
const all = packets(TOTAL, 20261124);

describe('fuzz', () => {
  it(`survives ${TOTAL.toLocaleString('en')} random and mutated packets in the pipeline`, async () => {
    const { zones } = await checkZoneDir(shippedZones);
    const holder = new SnapshotHolder(zones);
    const env: QueryEnv = { snapshots: holder, options: DEFAULT_PIPELINE_OPTIONS };

    // Straight through the pipeline: nothing throws; every reply is well-formed.
    let replies = 0;
    for (const msg of all) {
      for (const transport of ['udp', 'tcp'] as const) {
        const out = handleQuery(msg, { transport, remoteAddress: '127.0.0.1' }, env);
        if (out === null) continue;
        for (const reply of Array.isArray(out) ? out : [out]) {
          replies++;
          expect(reply.readUInt16BE(0)).toBe(msg.readUInt16BE(0));
          expect(reply[2]! & 0x80).toBe(0x80);
          if (transport === 'udp') expect(reply.length).toBeLessThanOrEqual(1232);
          expect(() => dnsPacket.decode(reply)).not.toThrow();
        }
      }
    }
    expect(replies).toBeGreaterThan(TOTAL);
  }, 240_000);

  describe.each(servers)('over UDP: $name', (s) => {
    const skip = s.native && !native.native;
    let server: MeridianProcess;
    beforeAll(async () => {
      if (!skip) server = await spawnMeridian(['--zones', shippedZones, ...s.args]);
    });
    afterAll(async () => {
      if (!server) return;
      server.child.kill('SIGTERM');
      await server.exited;
    });

    it.skipIf(skip)(
      `survives the same packets in bursts, and answers correctly after${skip ? ' (skipped: the native part is not built)' : ''}`,
      async () => {
        const sock = dgram.createSocket({ type: 'udp4', recvBufferSize: 8 << 20 });
        await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
        let answered = 0;
        sock.on('message', (reply) => {
          answered++;
          // A reply to garbage is still a DNS response (QR set), never something else.
          expect(reply.length).toBeGreaterThanOrEqual(12);
          expect(reply[2]! & 0x80).toBe(0x80);
        });
        for (let i = 0; i < all.length; i += 200) {
          for (const m of all.slice(i, i + 200)) sock.send(m, server.dnsPort, '127.0.0.1');
          await new Promise((r) => setImmediate(r));
        }
        await new Promise((r) => setTimeout(r, 500));
        sock.close();
        // How many get answers depends on what the client's own socket buffer keeps; some must.
        expect(answered).toBeGreaterThan(0);

        // Still alive and still right, and it logged no crash of a query.
        const r = await ask(server.dnsPort, 'portal.example.net', 'A', { edns: 1232 });
        expect(r.rcode).toBe('NOERROR');
        expect(r.answers!.map((a) => a.data)).toContain('192.0.2.80');
        const tcp = await ask(server.dnsPort, 'big.example.net', 'A', { transport: 'tcp' });
        expect(tcp.answers).toHaveLength(40);
        expect(server.child.exitCode).toBeNull();
        const logs = server.logs.join('\n');
        expect(logs).not.toContain('query failed');
        expect(logs).not.toContain('dns worker exited');
      },
      240_000,
    );
  });
});
