/**
 * The `dns` check type end to end (docs/health.md, "dns"): the target is a second `meridian`
 * process serving a small zone on loopback, stopped and restarted on the same port; the node
 * under test runs `type: dns` checks against it and shows its verdicts in GET /v1/health. A few
 * faults no honest server makes (a wrong ID, a wrong question, TC=1 with no TCP listener) come
 * from a UDP responder written here, on a real socket. `dig` confirms the truncation that makes
 * the check retry over TCP (RFC 1035 §4.2.1, RFC 7766 §5).
 */
import type { ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import dnsPacket from 'dns-packet';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { probeDns, type DnsProbeSpec } from '../../src/health/probe.js';
import { compileChecks } from '../../src/checks/config.js';
import type { CheckEntry } from '../../src/checks/schema.js';
import { startDaemon, stopDaemon, unboundConf } from '../support/daemons.js';
import { dig, freePort, hasCommand, spawnMeridian, waitFor, type MeridianProcess } from '../support/tools.js';

/** Eight TXT records of 100 octets: about 900 octets of answer, over the 512 of a query without EDNS. */
const BIG = Array.from({ length: 8 }, (_, i) => `${String(i)}`.padEnd(100, String.fromCharCode(97 + i)));

const TARGET_ZONE = `zone: svc.test
soa: { mname: ns1, rname: hostmaster, serial: 1, refresh: 1h, retry: 10m, expire: 1w, minimum: 5 }
ns: [ns1]
records:
  - { name: ns1, type: A, value: 192.0.2.53 }
  - { name: www, type: A, values: [192.0.2.1, 192.0.2.2] }
  - { name: big, type: TXT, values: [${BIG.map((s) => `'"${s}"'`).join(', ')}] }
`;

const dirs: string[] = [];
const procs: MeridianProcess[] = [];
const sockets: (dgram.Socket | net.Server)[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) if (p.child.exitCode === null) p.child.kill('SIGKILL');
});
afterAll(() => {
  for (const s of sockets) {
    try {
      s.close();
    } catch {
      // never bound (no IPv6 here)
    }
  }
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function zonesDir(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-dnscheck-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

async function serve(args: string[]): Promise<MeridianProcess> {
  const node = await spawnMeridian(args);
  procs.push(node);
  return node;
}

async function stop(node: MeridianProcess): Promise<void> {
  node.child.kill('SIGTERM');
  await node.exited;
}

/** A spec from a check entry, compiled as a zone's would be (so the plan is the real one). */
function spec(entry: Omit<CheckEntry, 'id' | 'type'>, port: number, timeoutMs = 1000): DnsProbeSpec {
  const { plans, problems } = compileChecks([{ id: 'd', type: 'dns', ...entry }], () => false);
  expect(problems).toEqual([]);
  const root = plans.get('d')!.root;
  if (root.kind !== 'probe' || root.probe.type !== 'dns') throw new Error('not a dns probe');
  const p = root.probe;
  return { kind: 'dns', address: '127.0.0.1', port, qkey: p.qkey, qtype: p.qtype, rcode: p.rcode, expect: p.expect, recursion: p.recursion, timeoutMs };
}

/** A UDP responder that answers every query with `reply(query)` (or nothing for null). */
async function responder(reply: (q: dnsPacket.Packet) => Buffer | null): Promise<number> {
  const sock = dgram.createSocket('udp4');
  sockets.push(sock);
  sock.on('message', (msg, rinfo) => {
    const out = reply(dnsPacket.decode(msg));
    if (out) sock.send(out, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  return sock.address().port;
}

function answerTo(q: dnsPacket.Packet, change: Partial<dnsPacket.Packet> = {}): Buffer {
  return dnsPacket.encode({
    type: 'response',
    id: q.id,
    flags: dnsPacket.AUTHORITATIVE_ANSWER,
    questions: q.questions,
    answers: [{ type: 'A', name: q.questions![0]!.name, ttl: 5, data: '192.0.2.1' }],
    ...change,
  });
}

describe('dns probes against a real Meridian', () => {
  let port: number;
  let target: MeridianProcess;
  beforeAll(async () => {
    port = await freePort();
    target = await spawnMeridian(['--dns', `127.0.0.1:${port}`, '--zones', zonesDir({ 'svc.test.yaml': TARGET_ZONE }), '--no-checks']);
  });
  afterAll(async () => {
    await stop(target);
  });

  it('the expected records → up; other records → down, naming what is missing and what is not expected', async () => {
    expect(await probeDns(spec({ name: 'www.svc.test', expect: ['192.0.2.2', '192.0.2.1'] }, port))).toMatchObject({ up: true, reason: 'ok' });
    expect(await probeDns(spec({ name: 'www.svc.test' }, port))).toMatchObject({ up: true, reason: 'ok' });
    expect(await probeDns(spec({ name: 'www.svc.test', expect: ['192.0.2.1', '192.0.2.9'] }, port))).toMatchObject({
      up: false,
      reason: 'rdata mismatch: missing 192.0.2.9; unexpected 192.0.2.2',
    });
  });

  it('the rcode is judged: NXDOMAIN is down by default, up when it is the expected rcode', async () => {
    expect(await probeDns(spec({ name: 'gone.svc.test' }, port))).toMatchObject({ up: false, reason: 'rcode NXDOMAIN' });
    expect(await probeDns(spec({ name: 'gone.svc.test', rcode: 'NXDOMAIN' }, port))).toMatchObject({ up: true, reason: 'ok' });
    // Outside the served zones Meridian refuses (RFC 1035 §4.1.1 REFUSED).
    expect(await probeDns(spec({ name: 'example.com' }, port))).toMatchObject({ up: false, reason: 'rcode REFUSED' });
  });

  it('a truncated UDP answer is asked again over TCP, and the whole RRset judged', async () => {
    // The answer does not fit 512 octets: dig without EDNS over UDP sees TC=1 and no answer.
    const udp = await dig(port, ['big.svc.test', 'TXT', '+notcp', '+noedns', '+ignore']);
    expect(udp).toMatch(/flags:[^;]*\btc\b/);
    expect(udp).toMatch(/ANSWER: 0/);
    const quoted = BIG.map((s) => `"${s}"`);
    expect(await probeDns(spec({ name: 'big.svc.test', qtype: 'TXT', expect: quoted }, port))).toMatchObject({ up: true, reason: 'ok' });
    expect(await probeDns(spec({ name: 'big.svc.test', qtype: 'TXT', expect: quoted.slice(1) }, port))).toMatchObject({
      up: false,
      reason: expect.stringMatching(/^rdata mismatch: unexpected "0a{99}"$/),
    });
  });
});

describe.skipIf(!hasCommand('unbound'))('dns probes against unbound (another implementation, compressing names in RDATA)', () => {
  let unbound: ChildProcess;
  let meridian: MeridianProcess;
  let port: number;
  beforeAll(async () => {
    const meridianPort = await freePort();
    meridian = await spawnMeridian(['--dns', `127.0.0.1:${meridianPort}`, '--zones', zonesDir({ 'svc.test.yaml': TARGET_ZONE }), '--no-checks']);
    port = await freePort();
    const dir = zonesDir({});
    const conf = path.join(dir, 'unbound.conf');
    fs.writeFileSync(
      conf,
      unboundConf(dir, port, {
        server: [
          // test. is a special-use name (RFC 6761 §6.2) that unbound answers NXDOMAIN for by default.
          'local-zone: "test." nodefault',
          'local-zone: "local.test." static',
          'local-data: "local.test. 60 IN SOA ns.local.test. hostmaster.local.test. 7 3600 600 86400 60"',
          'local-data: "local.test. 60 IN MX 10 Mail.local.test."',
          'local-data: "local.test. 60 IN MX 20 backup.local.test."',
        ],
        stubs: [{ name: 'svc.test', addr: `127.0.0.1@${meridianPort}` }],
      }),
    );
    unbound = startDaemon('unbound', ['-d', '-c', conf]);
    await waitFor(async () => (await dig(port, ['local.test', 'SOA', '+short'])).includes('hostmaster'), 15_000, 200);
  });
  afterAll(async () => {
    await stopDaemon(unbound);
    await stop(meridian);
  });

  it('local data: MX and SOA records compared in presentation form, names without regard to case', async () => {
    expect(await probeDns(spec({ name: 'local.test', qtype: 'MX', expect: ['20 backup.local.test.', '10 mail.local.test.'] }, port))).toMatchObject({
      up: true,
      reason: 'ok',
    });
    expect(
      await probeDns(spec({ name: 'local.test', qtype: 'SOA', expect: ['ns.local.test. hostmaster.local.test. 7 3600 600 86400 60'] }, port)),
    ).toMatchObject({ up: true, reason: 'ok' });
    expect(await probeDns(spec({ name: 'local.test', qtype: 'MX', expect: ['10 mail.local.test.'] }, port))).toMatchObject({
      up: false,
      reason: 'rdata mismatch: unexpected 20 backup.local.test.',
    });
    expect(await probeDns(spec({ name: 'nothing.local.test', rcode: 'NXDOMAIN' }, port))).toMatchObject({ up: true, reason: 'ok' });
  });

  it('recursion: true checks a resolver: unbound asks Meridian and the answer is judged', async () => {
    expect(await probeDns(spec({ name: 'www.svc.test', recursion: true, expect: ['192.0.2.1', '192.0.2.2'] }, port, 1500))).toMatchObject({
      up: true,
      reason: 'ok',
    });
  });
});

describe('dns probes: faults and the reasons that name them', () => {
  it('nothing listening → refused (ICMP port unreachable on a connected socket)', async () => {
    const port = await freePort();
    expect(await probeDns(spec({ name: 'www.svc.test' }, port))).toMatchObject({ up: false, reason: 'refused' });
  });

  it('no answer → timeout, within the timeout', async () => {
    const port = await responder(() => null);
    const r = await probeDns(spec({ name: 'www.svc.test' }, port, 300));
    expect(r).toMatchObject({ up: false, reason: 'timeout' });
  });

  it('a reply with another ID or question is dropped (RFC 5452 §9.1); the reason names it', async () => {
    const wrongId = await responder((q) => answerTo(q, { id: (q.id! + 1) & 0xffff }));
    expect(await probeDns(spec({ name: 'www.svc.test' }, wrongId, 300))).toMatchObject({ up: false, reason: 'id mismatch' });
    const wrongQuestion = await responder((q) => answerTo(q, { questions: [{ type: 'A', name: 'other.test', class: 'IN' }] }));
    expect(await probeDns(spec({ name: 'www.svc.test' }, wrongQuestion, 300))).toMatchObject({ up: false, reason: 'question mismatch' });
  });

  it('a reply with another ID first, the right one after: the right one is used', async () => {
    const sock = dgram.createSocket('udp4');
    sockets.push(sock);
    sock.on('message', (msg, rinfo) => {
      const q = dnsPacket.decode(msg);
      sock.send(answerTo(q, { id: (q.id! + 1) & 0xffff }), rinfo.port, rinfo.address, () => sock.send(answerTo(q), rinfo.port, rinfo.address));
    });
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    expect(await probeDns(spec({ name: 'www.svc.test' }, sock.address().port))).toMatchObject({ up: true, reason: 'ok' });
  });

  it('query IDs are random from one probe to the next', async () => {
    const ids: number[] = [];
    const port = await responder((q) => {
      ids.push(q.id!);
      return answerTo(q);
    });
    for (let i = 0; i < 8; i++) expect(await probeDns(spec({ name: 'www.svc.test' }, port))).toMatchObject({ up: true });
    expect(new Set(ids).size).toBeGreaterThan(1);
  });

  it('TC=1 over UDP and nothing on TCP → "truncated, tcp: refused"', async () => {
    const port = await responder((q) => answerTo(q, { flags: dnsPacket.TRUNCATED_RESPONSE, answers: [] }));
    expect(await probeDns(spec({ name: 'www.svc.test' }, port))).toMatchObject({ up: false, reason: 'truncated, tcp: refused' });
  });

  it('an endpoint host name is resolved by the system resolver at each run (localhost)', async () => {
    const port = await responder((q) => answerTo(q));
    // localhost may resolve to ::1 first: answer there too when the machine has IPv6.
    const v6 = dgram.createSocket('udp6');
    v6.on('error', () => undefined);
    v6.on('message', (msg, rinfo) => v6.send(answerTo(dnsPacket.decode(msg)), rinfo.port, rinfo.address));
    await new Promise<void>((r) => {
      v6.once('listening', () => r());
      v6.once('error', () => r());
      v6.bind(port, '::1');
    });
    sockets.push(v6);
    expect(await probeDns({ ...spec({ name: 'www.svc.test', expect: ['192.0.2.1'] }, port), address: 'localhost' })).toMatchObject({ up: true, reason: 'ok' });
  });

  it('an endpoint host name that does not resolve → "dns: CODE", as for tcp and http checks', async () => {
    const r = await probeDns({ ...spec({ name: 'www.svc.test' }, 53), address: 'no-such-host.invalid' });
    expect(r.up).toBe(false);
    expect(r.reason).toMatch(/^dns: E[A-Z_]+$/);
  });
});

function nodeZone(port: number): string {
  // fall 2: one slow answer on a loaded machine does not flip a verdict.
  const common = `port: ${port}, interval: 1s, timeout: 900ms, rise: 1, fall: 2`;
  return `zone: hc.test
soa: { mname: ns1, rname: hostmaster, serial: 1, refresh: 1h, retry: 10m, expire: 1w, minimum: 5 }
ns: [ns1]
records:
  - { name: ns1, type: A, value: 192.0.2.53 }
checks:
  - { id: dns-ok, type: dns, name: www.svc.test, expect: [192.0.2.1, 192.0.2.2], ${common} }
  - { id: dns-big, type: dns, name: big.svc.test, qtype: TXT, address: 127.0.0.1, ${common} }
  - { id: dns-rdata, type: dns, name: www.svc.test, expect: [192.0.2.9], address: 127.0.0.1, ${common} }
  - { id: dns-rcode, type: dns, name: gone.svc.test, address: 127.0.0.1, ${common} }
regions:
  - { id: r1, location: { lat: 50, lon: 8 }, country: DE }
pools:
  - id: p
    endpoints:
      - { id: ok, address: 127.0.0.1, region: r1, check: dns-ok }
      - { id: big, address: 127.0.0.42, region: r1, check: dns-big }
      - { id: rdata, address: 127.0.0.43, region: r1, check: dns-rdata }
      - { id: rcode, address: 127.0.0.44, region: r1, check: dns-rcode }
policies:
  - { name: app, type: A, ttl: 1, policy: { pool: p } }
`;
}

interface HealthView {
  endpoint: string;
  state: string;
  votes: { checker: string; up: boolean; reason: string }[];
}

async function health(node: MeridianProcess): Promise<Map<string, HealthView>> {
  const res = await fetch(`http://127.0.0.1:${node.adminPort}/v1/health`);
  const body = (await res.json()) as { endpoints: HealthView[] };
  return new Map(body.endpoints.map((e) => [e.endpoint, e]));
}

/**
 * Waits until each endpoint in turn has the given state and latest reason (one at a time, so a
 * passing slow run of another endpoint does not hide the match).
 */
async function until(node: MeridianProcess, want: Record<string, [string, string | RegExp]>): Promise<void> {
  for (const [ep, [state, reason]] of Object.entries(want)) {
    await waitFor(
      async () => {
        const v = (await health(node)).get(ep);
        const r = v?.votes[0]?.reason ?? '';
        return v?.state === state && (typeof reason === 'string' ? r === reason : reason.test(r));
      },
      20_000,
      200,
    );
  }
}

describe('a zone with dns checks, judged by a running node', () => {
  it('up while the target serves, down when it stops, up again when it restarts; failed expectations are down with their reason', async () => {
    const port = await freePort();
    const targetZones = zonesDir({ 'svc.test.yaml': TARGET_ZONE });
    let target = await serve(['--dns', `127.0.0.1:${port}`, '--zones', targetZones, '--no-checks']);
    const node = await serve(['--zones', zonesDir({ 'hc.test.yaml': nodeZone(port) }), '--region', 'r1']);

    const serving = {
      'p/ok': ['up', 'ok'],
      'p/big': ['up', 'ok'],
      'p/rdata': ['down', 'rdata mismatch: missing 192.0.2.9; unexpected 192.0.2.1, 192.0.2.2'],
      'p/rcode': ['down', 'rcode NXDOMAIN'],
    } satisfies Record<string, [string, string]>;
    await until(node, serving);
    expect((await health(node)).get('p/ok')!.votes).toEqual([expect.objectContaining({ checker: 'r1', up: true })]);
    // The answer follows: only the endpoints judged up.
    const answer = async () => (await dig(node.dnsPort, ['app.hc.test', 'A', '+short'])).trim().split('\n').sort().join(' ');
    await waitFor(async () => (await answer()) === '127.0.0.1 127.0.0.42', 20_000, 200);

    // The target stops: every dns check is down (nothing answers on the port).
    await stop(target);
    await until(node, {
      'p/ok': ['down', /^(refused|timeout)$/],
      'p/big': ['down', /^(refused|timeout)$/],
      'p/rdata': ['down', /^(refused|timeout)$/],
      'p/rcode': ['down', /^(refused|timeout)$/],
    });

    // It comes back on the same port: the same verdicts as before.
    target = await serve(['--dns', `127.0.0.1:${port}`, '--zones', targetZones, '--no-checks']);
    await until(node, serving);
  }, 150_000);
});
