/**
 * Authoritative behaviour over real UDP and TCP sockets against the shipped zones: the shared
 * authoritative table (test/support/authoritative-cases.ts, which also runs in-process in
 * src/dns/authoritative.test.ts), and what only sockets can show (TCP pipelining and framing).
 * The table runs against each UDP path — node:dgram and the batched one (recvmmsg/sendmmsg,
 * dns/udp-batched.ts) — and against a real `meridian serve --workers 2`, whose answers come from
 * worker processes that rebuilt the node's snapshot (state/replica.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ask, buildQuery, sendTcp, sendUdp } from '../support/dns-client.js';
import { authoritativeCases } from '../support/authoritative-cases.js';
import { shippedZones, spawnMeridian, startTestNode, type MeridianProcess } from '../support/tools.js';
import type { RunningNode } from '../../src/node/node.js';
import { loadNative } from '../../src/dns/native.js';

const native = loadNative();
const batched = native.native ? '' : ` (skipped: ${'reason' in native ? native.reason : ''})`;

let node: RunningNode;
let port: number;
beforeAll(async () => {
  node = await startTestNode(undefined, { udpIo: 'dgram' });
  port = node.dns.port;
});
afterAll(() => node.stop());

const tier = (p: () => number) => ({
  send: async (msg: Buffer, transport: 'udp' | 'tcp') => (transport === 'tcp' ? ((await sendTcp(p(), [msg], 1))[0] ?? null) : sendUdp(p(), msg)),
});

describe('over sockets (node:dgram)', () => {
  authoritativeCases(() => tier(() => port));
});

describe.skipIf(!native.native)(`over sockets (batched UDP path)${batched}`, () => {
  let b: RunningNode;
  beforeAll(async () => {
    b = await startTestNode(undefined, { udpIo: 'batched' });
  });
  afterAll(() => b?.stop());
  authoritativeCases(() => tier(() => b.dns.port));
});

describe.skipIf(!native.native)(`over sockets (meridian serve --workers 2, batched)${batched}`, () => {
  let p: MeridianProcess;
  beforeAll(async () => {
    p = await spawnMeridian(['--zones', shippedZones, '--workers', '2', '--udp-io', 'batched', '--max-udp-payload', '1232']);
  });
  afterAll(async () => {
    p?.child.kill('SIGTERM');
    await p?.exited;
  });
  authoritativeCases(() => tier(() => p.dnsPort));
});

describe('TCP, RFC 7766', () => {
  it('§6.2.1.1: pipelined queries on one connection are all answered', async () => {
    const names = ['www.example.net', 'nope.example.net', 'portal.example.net', 'example.net', 'big.example.net', 'app.gslb.example.org'];
    const msgs = names.map((n, i) => buildQuery(n, 'A', { id: 1000 + i }));
    const replies = await sendTcp(port, msgs);
    expect(replies.map((r) => r.readUInt16BE(0)).sort()).toEqual(names.map((_, i) => 1000 + i));
  });

  it('§6.2.3: a half-sent message does not wedge the server', async () => {
    const net = await import('node:net');
    const stuck = net.connect({ port, host: '127.0.0.1' });
    await new Promise((r) => stuck.once('connect', r));
    stuck.write(Buffer.from([0, 40, 1, 2, 3])); // announces 40 octets, sends 3
    const r = await ask(port, 'www.example.net', 'A', { transport: 'tcp' });
    expect(r.answers!.length).toBe(2);
    const u = await ask(port, 'www.example.net', 'A');
    expect(u.answers!.length).toBe(2);
    stuck.destroy();
  });
});
