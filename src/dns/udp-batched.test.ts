/**
 * The batched UDP path (dns/udp-batched.ts over native/udp-batch.c) on real loopback sockets:
 * what is its own — batches of 64 and more, the client address as octets, replies from the
 * address a query was sent to on a wildcard bind (RFC 1122 §4.1.3.5), the largest datagrams,
 * closing under load. The authoritative table and the fuzz test run against it too
 * (test/e2e/authoritative.test.ts, test/e2e/fuzz.test.ts). Skipped, and says so, where the native
 * part is not built.
 */
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildQuery, decode } from '../../test/support/dns-client.js';
import { silentLogger } from '../log.js';
import { checkZoneDir } from '../state/file-source.js';
import { SnapshotHolder } from '../state/snapshot.js';
import { loadNative } from './native.js';
import { DnsServer } from './server.js';
import { formatAddress } from './udp-batched.js';
import { loadZoneText } from '../zone/load.js';

const native = loadNative();
const shipped = path.resolve(import.meta.dirname, '../../zones');

describe('formatAddress: the text node:dgram would report (RFC 5952 §4)', () => {
  const at = (family: 4 | 6, bytes: number[]): Uint8Array => {
    const a = new Uint8Array(20);
    a[0] = family;
    a.set(bytes, 4);
    return a;
  };
  const v6 = (groups: number[]): number[] => groups.flatMap((g) => [g >> 8, g & 0xff]);
  it.each([
    ['IPv4', at(4, [192, 0, 2, 1]), '192.0.2.1'],
    ['loopback', at(6, v6([0, 0, 0, 0, 0, 0, 0, 1])), '::1'],
    ['unspecified', at(6, v6([0, 0, 0, 0, 0, 0, 0, 0])), '::'],
    ['§4.2.1: the longest zero run is ::', at(6, v6([0x2001, 0xdb8, 0, 0, 1, 0, 0, 1].map((x, i) => (i === 5 ? 0 : x)))), '2001:db8::1:0:0:1'],
    ['§4.2.2: one zero group is not shortened', at(6, v6([0x2001, 0xdb8, 0, 1, 1, 1, 1, 1])), '2001:db8:0:1:1:1:1:1'],
    ['§4.2.3: of equal runs, the first', at(6, v6([0x2001, 0, 0, 1, 0, 0, 1, 1])), '2001::1:0:0:1:1'],
    ['§4.3: lower case', at(6, v6([0x2001, 0xdb8, 0xabcd, 0, 0, 0, 0, 0xef])), '2001:db8:abcd::ef'],
    ['§5: IPv4-mapped', at(6, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 7]), '::ffff:192.0.2.7'],
  ])('%s', (_name, bytes, text) => {
    expect(formatAddress(bytes, 0)).toBe(text);
  });
});

describe.skipIf(!native.native)(`the batched path on sockets${native.native ? '' : ` (skipped: ${'reason' in native ? native.reason : ''})`}`, () => {
  let holder: SnapshotHolder;
  const servers: DnsServer[] = [];
  const start = async (host: string): Promise<number> => {
    const s = new DnsServer({ host, port: 0, holder, log: silentLogger(), udpIo: 'batched', native: native.native, udpRecvBufferBytes: 1 << 20 });
    servers.push(s);
    return (await s.start()).port;
  };

  beforeAll(async () => {
    const { zones } = await checkZoneDir(shipped);
    // A cidr policy that tells source addresses apart: 127.0.0.2 and everyone else.
    const cidr = loadZoneText(
      [
        'zone: src.test',
        'soa: { mname: ns1, rname: hostmaster, serial: 1, refresh: 1h, retry: 15m, expire: 2w, minimum: 60 }',
        'ns: [ns1]',
        'records: [{ name: ns1, type: A, value: 192.0.2.53 }]',
        'regions: [{ id: r1, location: { lat: 0, lon: 0 }, country: US }]',
        'pools:',
        '  - { id: two, endpoints: [{ address: 192.0.2.2, region: r1 }] }',
        '  - { id: other, endpoints: [{ address: 192.0.2.99, region: r1 }] }',
        'policies:',
        '  - { name: who, type: A, policy: { cidr: { routes: [{ networks: [127.0.0.2/32, "::1/128"], policy: { pool: two } }], default: { pool: other } } } }',
      ].join('\n'),
      'src.test.yaml',
    );
    if (!cidr.ok) throw new Error(cidr.errors.map((e) => e.format()).join('\n'));
    holder = new SnapshotHolder([...zones, cidr.zone]);
  });
  afterAll(async () => {
    for (const s of servers) await s.stop();
  });

  /** Sends `msgs` from one socket bound to `from` and collects the replies with their sources. */
  const burst = async (port: number, msgs: Buffer[], to = '127.0.0.1', from = to, waitMs = 3_000): Promise<{ msg: Buffer; address: string }[]> => {
    const sock = dgram.createSocket({ type: to.includes(':') ? 'udp6' : 'udp4', recvBufferSize: 8 << 20 });
    await new Promise<void>((r) => sock.bind(0, from, () => r()));
    const got: { msg: Buffer; address: string }[] = [];
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, waitMs);
      sock.on('message', (msg, rinfo) => {
        got.push({ msg, address: rinfo.address });
        if (got.length === msgs.length) {
          clearTimeout(timer);
          resolve();
        }
      });
      for (const m of msgs) sock.send(m, port, to);
    });
    sock.close();
    return got;
  };

  it('answers a burst of 500 queries from one socket (batches of 64 and a partial one), each with its own ID', async () => {
    const port = await start('127.0.0.1');
    const msgs = Array.from({ length: 500 }, (_, i) => buildQuery(i % 2 ? 'www.example.net' : 'nope.example.net', 'A', { id: i }));
    const got = await burst(port, msgs);
    expect(got.map((g) => g.msg.readUInt16BE(0)).sort((a, b) => a - b)).toEqual(msgs.map((_, i) => i));
    for (const g of got) expect(decode(g.msg).rcode).toBe(g.msg.readUInt16BE(0) % 2 ? 'NOERROR' : 'NXDOMAIN');
    const stats = servers.at(-1)!.udpInfo()!.stats!;
    expect(stats.received).toBe(500);
    expect(stats.sent).toBe(500);
    expect(stats.batches).toBeLessThan(500); // batched, not one call per datagram
  });

  it('many sources at once: every one gets its own answers back', async () => {
    const port = await start('127.0.0.1');
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, s) =>
        burst(
          port,
          Array.from({ length: 20 }, (_, i) => buildQuery('www.example.net', 'A', { id: s * 100 + i })),
        ),
      ),
    );
    results.forEach((got, s) => expect(got.map((g) => g.msg.readUInt16BE(0)).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => s * 100 + i)));
  });

  it('policies see the source address as octets: 127.0.0.2 and 127.0.0.1 are told apart (no ECS, RFC 7871 §7.1.1)', async () => {
    const port = await start('0.0.0.0');
    const [two] = await burst(port, [buildQuery('who.src.test', 'A')], '127.0.0.2');
    const [one] = await burst(port, [buildQuery('who.src.test', 'A')], '127.0.0.1');
    expect(decode(two!.msg).answers!.map((a) => a.data)).toEqual(['192.0.2.2']);
    expect(decode(one!.msg).answers!.map((a) => a.data)).toEqual(['192.0.2.99']);
  });

  it('RFC 1122 §4.1.3.5: on a wildcard bind the reply leaves from the address the query was sent to', async () => {
    const port = await start('0.0.0.0');
    for (const to of ['127.0.0.1', '127.0.0.2', '127.0.0.53']) {
      const got = await burst(port, [buildQuery('www.example.net', 'A')], to, '127.0.0.1');
      expect(got.map((g) => g.address)).toEqual([to]);
    }
    expect(servers.at(-1)!.udpInfo()!.stats!.replySource).toBe(4);
  });

  it('IPv6: ::1, and the wildcard ::', async () => {
    const port = await start('::1');
    const [r] = await burst(port, [buildQuery('www.example.net', 'AAAA')], '::1');
    expect(decode(r!.msg).rcode).toBe('NOERROR');
    const any = await start('::');
    const [w] = await burst(any, [buildQuery('who.src.test', 'A')], '::1');
    expect(w!.address).toBe('::1');
    expect(decode(w!.msg).answers!.map((a) => a.data)).toEqual(['192.0.2.2']);
  });

  it('the largest datagram (65,507 octets) and the smallest are handled like node:dgram handles them', async () => {
    const port = await start('127.0.0.1');
    const big = Buffer.concat([buildQuery('www.example.net', 'A', { id: 7 }), Buffer.alloc(65_507 - 33)]);
    const [r] = await burst(port, [big.subarray(0, 65_507)]);
    // Trailing octets after the message: FORMERR (RFC 1035 §4.1), with the ID echoed.
    expect(r!.msg.readUInt16BE(0)).toBe(7);
    expect(decode(r!.msg).rcode).toBe('FORMERR');
    const none = await burst(port, [Buffer.from([1, 2, 3])], '127.0.0.1', '127.0.0.1', 300);
    expect(none).toEqual([]);
  });

  it('closes while a flood is still arriving, and the port is free again', async () => {
    const port = await start('127.0.0.1');
    const s = servers.pop()!;
    const flood = dgram.createSocket('udp4');
    await new Promise<void>((r) => flood.bind(0, '127.0.0.1', () => r()));
    const q = buildQuery('www.example.net', 'A');
    for (let i = 0; i < 2000; i++) flood.send(q, port, '127.0.0.1');
    await s.stop();
    flood.close();
    const again = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      again.once('error', reject);
      again.bind(port, '127.0.0.1', () => resolve());
    });
    again.close();
  });

  it('with SO_REUSEPORT, two sockets share one port and both answer', async () => {
    const first = new DnsServer({ host: '127.0.0.1', port: 0, holder, log: silentLogger(), udpIo: 'batched', native: native.native, reusePort: true });
    const port = (await first.start()).port;
    const second = new DnsServer({ host: '127.0.0.1', port, holder, log: silentLogger(), udpIo: 'batched', native: native.native, reusePort: true });
    await second.start();
    servers.push(first, second);
    const results = await Promise.all(Array.from({ length: 32 }, (_, s) => burst(port, [buildQuery('www.example.net', 'A', { id: s })])));
    expect(results.every((r) => r.length === 1)).toBe(true);
    // The kernel spreads sources by their address and port: 32 of them reach both sockets.
    expect(first.udpInfo()!.stats!.received).toBeGreaterThan(0);
    expect(second.udpInfo()!.stats!.received).toBeGreaterThan(0);
  });

  it('the receive buffer asked for is granted up to net.core.rmem_max (Linux reports it doubled)', () => {
    const info = servers[0]!.udpInfo()!;
    const max = Number(fs.readFileSync('/proc/sys/net/core/rmem_max', 'utf8'));
    expect(info.recvBufferBytes).toBe(2 * Math.min(1 << 20, max));
    expect(os.platform()).toBe('linux');
  });
});
