/**
 * "Safe on the open Internet" over real sockets, against real `meridian serve` processes:
 *   - response rate limiting: a flood of one query from one source, a few thousand a second, gets
 *     its budget and then TC=1 slips at the set ratio, while a second source is answered in full
 *     and TCP still works (dns/rrl.ts);
 *   - DNS Cookies: answers checked against RFC 9018's algorithm (an independent SipHash-2-4 over the
 *     node's own secret), a client with a valid server cookie is never limited, one with a client
 *     cookie only gets BADCOOKIE slips, malformed options are FORMERR, over UDP and TCP; two nodes
 *     of a cluster accept each other's cookies (the secret shared through etcd), a node of another
 *     cluster does not;
 *   - TCP: one client cannot take every slot, and edns-tcp-keepalive says what the server does.
 * The unit tests (src/dns/rrl.test.ts, src/dns/cookies.test.ts) hold the arithmetic and the RFC's
 * test vectors.
 */
import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decode, sendTcp, type Reply } from '../support/dns-client.js';
import { hasEtcd, startEtcd, type TestEtcd } from '../support/etcd.js';
import { siphashReference } from '../support/siphash.js';
import { dig, repoRoot, spawnMeridian, tempZones, waitFor, type MeridianProcess } from '../support/tools.js';

const run = promisify(execFile);
const procs: MeridianProcess[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

async function serve(args: string[]): Promise<MeridianProcess> {
  const zones = tempZones();
  dirs.push(zones);
  const p = await spawnMeridian(['--zones', zones, '--no-checks', ...args]);
  procs.push(p);
  return p;
}

type EdnsOption = { code: number; data?: Buffer; timeout?: number };

/** A query; with `options`, an OPT record carrying them (COOKIE is code 10, edns-tcp-keepalive 11). */
function query(name: string, id: number, options: EdnsOption[] | null = null, type = 'A'): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id,
    questions: [{ name, type: type as dnsPacket.RecordType }],
    additionals: options ? [{ type: 'OPT', name: '.', udpPayloadSize: 1232, options } as unknown as dnsPacket.Answer] : [],
  });
}

/** The EDNS options of a reply by code, and its full 12-bit rcode (RFC 6891 §6.1.3). */
function edns(r: Reply): { options: Map<number, Buffer>; rcode: number } {
  const opt = (r.additionals ?? []).find((a) => a.type === 'OPT') as unknown as
    | { extendedRcode: number; options: { code: number; data: Buffer }[] }
    | undefined;
  return {
    options: new Map((opt?.options ?? []).map((o) => [o.code, o.data])),
    rcode: ((opt?.extendedRcode ?? 0) << 4) | (r.raw[3]! & 0x0f),
  };
}

/** A UDP socket bound to `address`, keeping every reply. */
async function udpFrom(address: string): Promise<{ sock: dgram.Socket; replies: Reply[]; send: (m: Buffer, port: number) => void }> {
  const sock = dgram.createSocket('udp4');
  const replies: Reply[] = [];
  sock.on('message', (m) => replies.push(decode(m)));
  await new Promise<void>((r) => sock.bind(0, address, () => r()));
  return { sock, replies, send: (m, port) => sock.send(m, port, '127.0.0.1') };
}

/** One UDP question from `address`; the reply or null after `ms`. */
async function askFrom(address: string, port: number, msg: Buffer, ms = 1000): Promise<Reply | null> {
  const u = await udpFrom(address);
  u.send(msg, port);
  await waitFor(async () => u.replies.length > 0, ms, 5).catch(() => undefined);
  u.sock.close();
  return u.replies[0] ?? null;
}

/** One counter of /metrics, summed over the series whose labels contain `labels`. */
async function metric(p: MeridianProcess, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${p.adminPort}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n'))
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) if (line.includes(labels)) sum += Number(line.split(' ').pop());
  return sum;
}

const full = (r: Reply): boolean => !r.flag_tc && r.rcode === 'NOERROR' && (r.answers?.length ?? 0) > 0;
const slipped = (r: Reply): boolean => Boolean(r.flag_tc) && (r.answers?.length ?? 0) === 0;

describe('response rate limiting (UDP)', () => {
  const RATE = 20;
  let p: MeridianProcess;
  beforeAll(async () => {
    // Loopback is exempt by default (it cannot be spoofed from the network); here it stands for the Internet.
    p = await serve(['--rrl-rate', String(RATE), '--rrl-slip', '2', '--rrl-window', '5', '--rrl-exempt', 'none']);
  });

  it('a flood of one query from one source is held to its budget with TC=1 slips at 1 in 2; another source and TCP are answered', async () => {
    const flooder = await udpFrom('127.0.0.1');
    const other = await udpFrom('127.0.1.1'); // another /24
    const name = 'www.example.net';
    let sent = 0;
    let otherSent = 0;
    const seconds = 2;
    const started = Date.now();
    // 3,000 a second: 15 every 5 ms; the other source asks 10 a second, below the rate.
    const flood = setInterval(() => {
      for (let i = 0; i < 15; i++) flooder.send(query(name, sent++ & 0xffff), p.dnsPort);
    }, 5);
    const polite = setInterval(() => other.send(query(name, 40000 + otherSent++), p.dnsPort), 100);
    // TCP from the flooding address itself, in the middle of the flood.
    await new Promise((r) => setTimeout(r, 1000));
    const tcp = decode((await sendTcp(p.dnsPort, [query(name, 777)]))[0]!);
    await new Promise((r) => setTimeout(r, seconds * 1000 - (Date.now() - started)));
    clearInterval(flood);
    clearInterval(polite);
    await new Promise((r) => setTimeout(r, 500));
    flooder.sock.close();
    other.sock.close();

    expect(sent, 'queries sent').toBeGreaterThan(4000);
    const answered = flooder.replies.filter(full).length;
    const tc = flooder.replies.filter(slipped).length;
    // The budget: the burst of `rate` at the start, and at most `rate` a second after it.
    expect(answered).toBeGreaterThanOrEqual(RATE);
    expect(answered).toBeLessThanOrEqual(RATE * (seconds + 1));
    // Every limited answer was counted, and every second one of them went out as TC=1.
    const dropped = await metric(p, 'meridian_dns_rrl_limited_total', 'action="dropped"');
    const slips = await metric(p, 'meridian_dns_rrl_limited_total', 'action="slipped"');
    expect(answered + dropped + slips).toBeGreaterThan(sent * 0.95);
    expect(Math.abs(2 * slips - (slips + dropped))).toBeLessThanOrEqual(2);
    expect(tc).toBeGreaterThan(slips * 0.95);
    expect(tc).toBeLessThanOrEqual(slips);
    // The other network was answered in full, every time; so was TCP.
    expect(other.replies.filter(full).length).toBe(otherSent);
    expect(full(tcp)).toBe(true);
    // The limited answers are counted by class.
    expect(await metric(p, 'meridian_dns_rrl_limited_total', 'class="answer"')).toBe(dropped + slips);
  }, 30_000);

  it('a client with a valid server cookie is never limited; one with a client cookie only gets BADCOOKIE slips', async () => {
    const src = '127.0.2.1';
    const clientCookie = Buffer.from('a1b2c3d4e5f60718', 'hex');
    const first = (await askFrom(src, p.dnsPort, query('portal.example.net', 1, [{ code: 10, data: clientCookie }])))!;
    const cookie = edns(first).options.get(10)!;
    expect(cookie.length).toBe(24);
    // 300 questions one after another, far above the rate: every one answered in full.
    const u = await udpFrom(src);
    for (let i = 0; i < 300; i++) {
      const before = u.replies.length;
      u.send(query('portal.example.net', 2 + i, [{ code: 10, data: cookie }]), p.dnsPort);
      await waitFor(async () => u.replies.length > before, 2000, 1);
    }
    u.sock.close();
    expect(u.replies.length).toBe(300);
    expect(u.replies.every(full)).toBe(true);
    // The same questions without the cookie, from the same network: limited.
    const bare = await udpFrom(src);
    for (let i = 0; i < 100; i++) bare.send(query('portal.example.net', 1000 + i), p.dnsPort);
    await new Promise((r) => setTimeout(r, 500));
    bare.sock.close();
    expect(bare.replies.filter(full).length).toBeLessThanOrEqual(RATE);
    // A client cookie only: a limited answer slips as BADCOOKIE with a fresh server cookie (RFC 7873 §5.2.3).
    const fresh = await udpFrom('127.0.3.1');
    for (let i = 0; i < 100; i++) fresh.send(query('portal.example.net', 2000 + i, [{ code: 10, data: clientCookie }]), p.dnsPort);
    await new Promise((r) => setTimeout(r, 500));
    fresh.sock.close();
    const bad = fresh.replies.filter((r) => edns(r).rcode === 23);
    expect(bad.length).toBeGreaterThan(30);
    for (const r of bad) {
      expect(r.answers ?? []).toEqual([]);
      expect(edns(r).options.get(10)!.subarray(0, 8)).toEqual(clientCookie);
      expect(edns(r).options.get(10)!.length).toBe(24);
    }
    expect(await metric(p, 'meridian_dns_badcookie_total')).toBe(bad.length);
    expect(await metric(p, 'meridian_dns_cookies_total', 'verdict="valid"')).toBeGreaterThanOrEqual(300);
  }, 30_000);
});

describe('DNS Cookies (RFC 7873, RFC 9018)', () => {
  let p: MeridianProcess;
  let state: string;
  beforeAll(async () => {
    state = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-cookie-state-'));
    dirs.push(state);
    p = await serve(['--state', state]);
  });

  /** The server cookie RFC 9018 §4 makes for this client, with the secret the node keeps in its state directory. */
  function expected(clientCookie: Buffer, head: Buffer, ip: number[]): Buffer {
    const secret = Buffer.from((JSON.parse(fs.readFileSync(path.join(state, 'cookie-secret.json'), 'utf8')) as { current: string }).current, 'hex');
    return siphashReference(secret, Buffer.concat([clientCookie, head, Buffer.from(ip)]));
  }

  it.each(['udp', 'tcp'] as const)('over %s, the server cookie is Version 1, a current Timestamp and the SipHash-2-4 of RFC 9018 §4.4', async (transport) => {
    const clientCookie = Buffer.from('2464c4abcf10c957', 'hex');
    const msg = query('www.example.net', 9, [{ code: 10, data: clientCookie }]);
    const r = transport === 'udp' ? (await askFrom('127.0.0.1', p.dnsPort, msg))! : decode((await sendTcp(p.dnsPort, [msg]))[0]!);
    expect(full(r)).toBe(true);
    const c = edns(r).options.get(10)!;
    expect(c.subarray(0, 8)).toEqual(clientCookie);
    const server = c.subarray(8);
    expect(server.length).toBe(16);
    expect([...server.subarray(0, 4)]).toEqual([1, 0, 0, 0]); // Version 1, Reserved 0
    expect(Math.abs(server.readUInt32BE(4) - Date.now() / 1000)).toBeLessThan(5);
    expect(server.subarray(8)).toEqual(expected(clientCookie, server.subarray(0, 8), [127, 0, 0, 1]));
    // Sent back, it is valid: the same cookie comes back (RFC 7873 §5.2.5).
    const again = query('www.example.net', 10, [{ code: 10, data: c }]);
    const r2 = transport === 'udp' ? (await askFrom('127.0.0.1', p.dnsPort, again))! : decode((await sendTcp(p.dnsPort, [again]))[0]!);
    expect(edns(r2).options.get(10)).toEqual(c);
  });

  it('dig sends a cookie and finds its own back; kdig and dig without one get no COOKIE', async () => {
    const out = await dig(p.dnsPort, ['+cookie', 'www.example.net', 'A']);
    expect(out).toMatch(/; COOKIE: [0-9a-f]{48} \(good\)/);
    expect(await dig(p.dnsPort, ['+nocookie', 'www.example.net', 'A'])).not.toContain('COOKIE');
  });

  it.each(['udp', 'tcp'] as const)('over %s, a malformed COOKIE option is FORMERR (RFC 7873 §5.2.2)', async (transport) => {
    for (const len of [7, 9, 15, 41]) {
      const msg = query('www.example.net', 11, [{ code: 10, data: Buffer.alloc(len, 1) }]);
      const r = transport === 'udp' ? (await askFrom('127.0.0.1', p.dnsPort, msg))! : decode((await sendTcp(p.dnsPort, [msg]))[0]!);
      expect(r.rcode, `${len} octets`).toBe('FORMERR');
    }
  });

  it('a restart with the same state directory keeps the secret: an old cookie still validates', async () => {
    const clientCookie = Buffer.from('0f0e0d0c0b0a0908', 'hex');
    const r = (await askFrom('127.0.0.1', p.dnsPort, query('www.example.net', 12, [{ code: 10, data: clientCookie }])))!;
    const cookie = edns(r).options.get(10)!;
    const before = await metric(p, 'meridian_dns_cookies_total', 'verdict="valid"');
    p.child.kill('SIGTERM');
    await p.exited;
    const zones = tempZones();
    dirs.push(zones);
    p = await spawnMeridian(['--zones', zones, '--no-checks', '--state', state]);
    procs.push(p);
    expect(before).toBeGreaterThan(0);
    const r2 = (await askFrom('127.0.0.1', p.dnsPort, query('www.example.net', 13, [{ code: 10, data: cookie }])))!;
    expect(edns(r2).options.get(10)).toEqual(cookie);
    expect(await metric(p, 'meridian_dns_cookies_total', 'verdict="valid"')).toBe(1);
  });
});

describe.skipIf(!hasEtcd)('DNS Cookies in a cluster: the secret is shared through etcd', () => {
  let etcd: TestEtcd;
  beforeAll(async () => {
    etcd = await startEtcd();
  }, 30_000);
  afterAll(async () => {
    await etcd?.destroy();
  });

  async function clusterNode(prefix: string, id: string): Promise<MeridianProcess> {
    const n = await spawnMeridian([
      '--etcd',
      etcd.url,
      '--etcd-prefix',
      prefix,
      '--node-id',
      id,
      '--region',
      'eu',
      '--no-checks',
      '--rrl-rate',
      '10',
      '--rrl-exempt',
      'none',
    ]);
    procs.push(n);
    await waitFor(async () => n.logs.some((l) => l.includes('cookie secret shared through etcd')), 15_000);
    return n;
  }

  it('a cookie from one node is valid on the other (and exempts its client from rate limiting there); not on another cluster', async () => {
    const zones = tempZones();
    dirs.push(zones);
    for (const prefix of ['/cookies-a', '/cookies-b'])
      await run(process.execPath, [path.join(repoRoot, 'dist/main.js'), 'cluster', 'import', '--etcd', etcd.url, '--etcd-prefix', prefix, '--zones', zones]);
    const [one, two] = await Promise.all([clusterNode('/cookies-a', 'a1'), clusterNode('/cookies-a', 'a2')]);
    const other = await clusterNode('/cookies-b', 'b1');
    const src = '127.0.4.1';
    const first = (await askFrom(src, one!.dnsPort, query('www.example.net', 1, [{ code: 10, data: Buffer.from('1122334455667788', 'hex') }])))!;
    const cookie = edns(first).options.get(10)!;
    const u = await udpFrom(src);
    for (let i = 0; i < 100; i++) {
      const before = u.replies.length;
      u.send(query('www.example.net', 2 + i, [{ code: 10, data: cookie }]), two!.dnsPort);
      await waitFor(async () => u.replies.length > before, 2000, 1);
    }
    u.sock.close();
    expect(u.replies.every(full)).toBe(true);
    expect(await metric(two!, 'meridian_dns_cookies_total', 'verdict="valid"')).toBe(100);
    // Another cluster has another secret: the cookie is not its own (RFC 7873 §5.2.4), and it answers with a new one.
    const r = (await askFrom(src, other.dnsPort, query('www.example.net', 200, [{ code: 10, data: cookie }])))!;
    expect(await metric(other, 'meridian_dns_cookies_total', 'verdict="invalid"')).toBe(1);
    expect(edns(r).options.get(10)).not.toEqual(cookie);
  }, 60_000);
});

describe('TCP: per-client limits and edns-tcp-keepalive (RFC 7766 §6.2.2, RFC 7828)', () => {
  let p: MeridianProcess;
  beforeAll(async () => {
    p = await serve(['--tcp-max-connections', '8', '--tcp-max-connections-per-client', '3', '--tcp-idle-timeout', '4000']);
  });

  /** A connection from `local`, and a way to ask on it (null: closed without an answer). */
  async function connect(local: string): Promise<{ ask: (msg: Buffer) => Promise<Reply | null>; sock: net.Socket; closed: Promise<void> }> {
    const sock = net.connect({ port: p.dnsPort, host: '127.0.0.1', localAddress: local });
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', () => resolve());
      sock.once('error', reject);
    });
    let pending = Buffer.alloc(0);
    const waiting: ((r: Reply | null) => void)[] = [];
    sock.on('data', (d: Buffer) => {
      pending = Buffer.concat([pending, d]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        waiting.shift()?.(decode(pending.subarray(2, 2 + pending.readUInt16BE(0))));
        pending = pending.subarray(2 + pending.readUInt16BE(0));
      }
    });
    const closed = new Promise<void>((r) => sock.once('close', () => r()));
    sock.on('error', () => undefined);
    void closed.then(() => {
      for (const w of waiting.splice(0)) w(null);
    });
    const ask = (msg: Buffer): Promise<Reply | null> =>
      new Promise((resolve) => {
        if (sock.destroyed) return resolve(null);
        waiting.push(resolve);
        const len = Buffer.alloc(2);
        len.writeUInt16BE(msg.length);
        sock.write(Buffer.concat([len, msg]));
      });
    return { ask, sock, closed };
  }

  it('one client cannot take every slot: its fourth connection is closed, another client is served', async () => {
    const keepalive = [{ code: 11 }];
    const mine = [];
    for (let i = 0; i < 3; i++) {
      const c = await connect('127.0.0.1');
      const r = await c.ask(query('www.example.net', i, keepalive));
      expect(full(r!)).toBe(true);
      mine.push({ c, r: r! });
    }
    // At its limit, the client is told to close (TIMEOUT 0, RFC 7828 §3.3.2)...
    const last = edns(mine[2]!.r).options.get(11)!;
    expect(last.readUInt16BE(0)).toBe(0);
    // ...and the connection told so is closed after a second of silence, not the 4 s idle timeout.
    const t0 = Date.now();
    await mine[2]!.c.closed;
    expect(Date.now() - t0).toBeLessThan(3000);
    // Below the limit, the TIMEOUT is the idle timeout, in units of 100 ms.
    expect(edns(mine[0]!.r).options.get(11)!.readUInt16BE(0)).toBe(40);
    const opened = [mine[0]!.c, mine[1]!.c];
    try {
      // Keep the first two busy, so that their idle timeout (4 s) cannot free a slot on a slow machine.
      for (const [i, m] of mine.slice(0, 2).entries()) expect(full((await m.c.ask(query('www.example.net', 20 + i)))!)).toBe(true);
      const again = await connect('127.0.0.1');
      opened.push(again);
      const fourth = await connect('127.0.0.1');
      opened.push(fourth);
      expect(await fourth.ask(query('www.example.net', 10))).toBeNull();
      expect(full((await again.ask(query('www.example.net', 11)))!)).toBe(true);
      // Another client is answered.
      const someone = await connect('127.0.0.9');
      opened.push(someone);
      expect(full((await someone.ask(query('www.example.net', 12)))!)).toBe(true);
      expect(await metric(p, 'meridian_dns_tcp_refused_total', 'reason="per_client"')).toBeGreaterThanOrEqual(1);
    } finally {
      // The next test asks from 127.0.0.1 too: give its slots back whatever happened here.
      for (const c of opened) c.sock.destroy();
      await Promise.all(opened.map((c) => c.closed));
    }
  }, 20_000);

  it('dig +keepalive reads the idle timeout; a keepalive option with a TIMEOUT in a query is FORMERR (RFC 7828 §3.2.1)', async () => {
    const out = await dig(p.dnsPort, ['+tcp', '+keepalive', 'www.example.net', 'A']);
    expect(out).toContain('TCP KEEPALIVE: 4.0 secs');
    // Over UDP the option is ignored, and never answered (RFC 7828 §3.3.2).
    expect(await dig(p.dnsPort, ['+notcp', '+keepalive', 'www.example.net', 'A'])).not.toContain('KEEPALIVE');
    const c = await connect('127.0.0.5');
    const r = await c.ask(query('www.example.net', 1, [{ code: 11, timeout: 50 }]));
    expect(r!.rcode).toBe('FORMERR');
    c.sock.destroy();
  });
});
