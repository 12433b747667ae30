/**
 * `meridian serve --workers 2` end to end (issue 17, "How it will be checked"): a real node
 * process with two DNS worker processes sharing the DNS port (SO_REUSEPORT), real HTTP health
 * targets, real sockets from hundreds of source ports — the kernel spreads sources over the
 * workers by address and port, so a query from each of them reaches both workers, and the
 * per-worker counters of /metrics show that both answered. Runs on each UDP path (the batched one
 * needs the native part; on Node 20 node:dgram shares the port through sockets the native part
 * binds, so without it the file is skipped and says why).
 *
 *   - 1,000 queries from 250 source ports are all answered, by both workers; /metrics adds them up;
 *   - an API write (a record) is answered by every worker on the very next query from any port;
 *   - a drain through the API, and a health change found by the node's checks, reach every worker;
 *   - the checks run once per node, not once per worker;
 *   - a worker killed with SIGKILL is replaced and reported (log, /readyz, /metrics), the other
 *     answers meanwhile; a wedged one (SIGSTOP) cannot hold a write up: it is replaced;
 *   - SIGTERM stops the node and every worker, and frees the port;
 *   - in cluster mode (a real etcd), a change made straight in etcd reaches every worker, and an
 *     API write, stored in etcd, is answered by every worker on the very next query.
 */
import { spawnSync } from 'node:child_process';
import dnsPacket from 'dns-packet';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildQuery, decode, sendTcp, type Reply } from '../support/dns-client.js';
import { apiRequest, bearer, localToken } from '../support/api.js';
import { freePort, repoRoot, spawnMeridian, waitFor, type MeridianProcess } from '../support/tools.js';
import { Target } from '../support/target.js';
import { loadNative, nodeHasReusePort } from '../../src/dns/native.js';
import { hasEtcd, startEtcd, type TestEtcd } from '../support/etcd.js';
import { EtcdClient } from '../../src/cluster/etcd-client.js';
import { silentLogger } from '../../src/log.js';

const native = loadNative();
const canShare = nodeHasReusePort() || native.native !== null;

function zoneText(port: number): string {
  return `
zone: wk.test
soa: { mname: ns1, rname: hostmaster, serial: 1, refresh: 1h, retry: 10m, expire: 1w, minimum: 5 }
ns: [ns1]
records:
  - { name: ns1, type: A, value: 192.0.2.53 }
  - { name: v, type: TXT, value: '"start"' }
checks:
  - { id: web, type: http, path: /health, port: ${port}, body: ok, interval: 1s, timeout: 500ms, rise: 1, fall: 1, stale_after: 3s }
regions:
  - { id: primary, location: { lat: 50, lon: 8 }, country: DE }
  - { id: backup, location: { lat: 39, lon: -77 }, country: US }
pools:
  - { id: first, check: web, endpoints: [{ id: a, address: 127.0.0.41, region: primary }] }
  - { id: second, check: web, endpoints: [{ id: c, address: 127.0.0.43, region: backup }] }
policies:
  - { name: app, type: A, ttl: 1, policy: { failover: { tiers: [ { pool: first }, { pool: second } ] } } }
`;
}

/** Many client sockets, each on its own source port; `ask` sends one query from each. */
class Clients {
  private constructor(readonly socks: dgram.Socket[]) {}
  static async open(n: number): Promise<Clients> {
    const socks = await Promise.all(
      Array.from({ length: n }, async () => {
        const s = dgram.createSocket('udp4');
        await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
        return s;
      }),
    );
    return new Clients(socks);
  }
  /** One query per socket, all at once; the replies in socket order (null: none within 2 s). */
  ask(port: number, name: string, type: string, perSocket = 1): Promise<(Reply | null)[]> {
    return Promise.all(
      this.socks.flatMap((s, i) =>
        Array.from(
          { length: perSocket },
          (_, k) =>
            new Promise<Reply | null>((resolve) => {
              const id = (i * perSocket + k) & 0xffff;
              const onMessage = (msg: Buffer): void => {
                if (msg.readUInt16BE(0) !== id) return;
                clearTimeout(timer);
                s.off('message', onMessage);
                resolve(decode(msg));
              };
              const timer = setTimeout(() => {
                s.off('message', onMessage);
                resolve(null);
              }, 2_000);
              s.on('message', onMessage);
              s.send(buildQuery(name, type, { id }), port, '127.0.0.1');
            }),
        ),
      ),
    );
  }
  close(): void {
    for (const s of this.socks) s.close();
  }
}

const txt = (r: Reply | null): string => (r ? (r.answers ?? []).map((a) => Buffer.concat(a.data as Buffer[]).toString()).join(' ') : 'NO ANSWER');
const addrs = (r: Reply | null): string => (r ? (r.answers ?? []).map((a) => String(a.data)).join(' ') : 'NO ANSWER');

/** Counts every value of a metric family by its labels. */
async function metric(admin: number, name: string): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${admin}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`).exec(line);
    if (m) out.set(m[1] ?? '', Number(m[2]));
  }
  return out;
}
const sum = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0);

/** The pid of each worker, from the node's own log lines. */
function workerPids(p: MeridianProcess): Map<number, number> {
  const pids = new Map<number, number>();
  for (const line of p.logs) {
    try {
      const r = JSON.parse(line) as { msg?: string; worker?: number; worker_pid?: number };
      if ((r.msg === 'dns worker serving' || r.msg === 'dns worker replaced') && r.worker && r.worker_pid) pids.set(r.worker, r.worker_pid);
    } catch {
      // not a log record
    }
  }
  return pids;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const paths = [
  { io: 'batched', skip: !native.native, why: 'reason' in native ? native.reason : '' },
  { io: 'dgram', skip: !canShare, why: 'Node 20 without the native part cannot share a port' },
];

describe.each(paths)('meridian serve --workers 2 --udp-io $io', ({ io, skip, why }) => {
  let node: MeridianProcess;
  let clients: Clients;
  let dir: string;
  const targets: Target[] = [];
  let dns = 0;
  let admin = 0;
  const api = (method: string, url: string, body?: unknown) =>
    apiRequest(`http://127.0.0.1:${admin}${url}`, method, body, method === 'GET' ? {} : bearer(localToken(node.tokenFile)));

  beforeAll(async () => {
    if (skip) return;
    const port = await freePort();
    for (const h of ['127.0.0.41', '127.0.0.43']) {
      const t = new Target(h, port);
      await t.start();
      targets.push(t);
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-workers-'));
    fs.writeFileSync(path.join(dir, 'wk.test.yaml'), zoneText(port));
    node = await spawnMeridian(['--zones', dir, '--workers', '2', '--udp-io', io, '--region', 'primary']);
    dns = node.dnsPort;
    admin = node.adminPort;
    clients = await Clients.open(250);
    // The first health round: both endpoints up.
    await waitFor(async () => (await api('GET', '/readyz')).status === 200);
  }, 60_000);

  afterAll(async () => {
    clients?.close();
    if (node && node.child.exitCode === null) {
      node.child.kill('SIGKILL');
      await node.exited;
    }
    for (const t of targets) await t.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(skip)(
    `1,000 queries from 250 source ports are all answered, by both workers; /metrics adds them up${skip ? ` (skipped: ${why})` : ''}`,
    async () => {
      expect(workerPids(node).size).toBe(2);
      const before = await metric(admin, 'meridian_dns_worker_answers_total');
      const total0 = sum(await metric(admin, 'meridian_dns_queries_total'));
      const replies = await clients.ask(dns, 'v.wk.test', 'TXT', 4);
      expect(replies).toHaveLength(1000);
      expect(replies.filter((r) => r === null)).toHaveLength(0);
      expect(new Set(replies.map(txt))).toEqual(new Set(['start']));
      const after = await metric(admin, 'meridian_dns_worker_answers_total');
      for (const w of ['{worker="1"}', '{worker="2"}']) expect(after.get(w)! - before.get(w)!, w).toBeGreaterThan(0);
      expect(sum(await metric(admin, 'meridian_dns_queries_total')) - total0).toBe(1000);
      expect((await metric(admin, 'meridian_dns_workers')).get('{state="serving"}')).toBe(2);
      expect((await metric(admin, 'meridian_dns_udp_io')).get(`{io="${io}"}`)).toBe(1);
      // TCP is shared the same way.
      const tcp = await Promise.all(Array.from({ length: 40 }, () => sendTcp(dns, [buildQuery('v.wk.test', 'TXT')])));
      expect(tcp.every((r) => r.length === 1 && txt(decode(r[0]!)) === 'start')).toBe(true);
    },
  );

  it.skipIf(skip)('an API write is answered by every worker on the very next query from any port', async () => {
    for (let round = 1; round <= 5; round++) {
      const value = `"round-${round}"`;
      const put = await api('PUT', '/v1/zones/wk.test/records/v/TXT', { name: 'v', type: 'TXT', value });
      expect(put.status, put.text).toBe(200);
      const replies = await clients.ask(dns, 'v.wk.test', 'TXT');
      expect(new Set(replies.map(txt))).toEqual(new Set([`round-${round}`]));
    }
  });

  it.skipIf(skip)('a drain through the API reaches every worker before the API answers; so does lifting it', async () => {
    expect(new Set((await clients.ask(dns, 'app.wk.test', 'A')).map(addrs))).toEqual(new Set(['127.0.0.41']));
    const set = await api('POST', '/v1/overrides', { region: 'primary', kind: 'drain', reason: 'workers test' });
    expect(set.status, set.text).toBe(201);
    expect(new Set((await clients.ask(dns, 'app.wk.test', 'A')).map(addrs))).toEqual(new Set(['127.0.0.43']));
    const lifted = await api('DELETE', `/v1/overrides/${encodeURIComponent(set.json.id)}`);
    expect(lifted.status, lifted.text).toBe(204);
    expect(new Set((await clients.ask(dns, 'app.wk.test', 'A')).map(addrs))).toEqual(new Set(['127.0.0.41']));
  });

  it.skipIf(skip)('a live drill drains every worker when it starts, and restores every worker when it ends', async () => {
    const start = await api('POST', '/v1/drills', { region: 'primary', mode: 'live', duration_s: 2, reason: 'workers test' });
    expect(start.status, start.text).toBe(202);
    expect(new Set((await clients.ask(dns, 'app.wk.test', 'A')).map(addrs))).toEqual(new Set(['127.0.0.43']));
    // The drill ends on the node's own timer (or aborts early, if a check times out on a loaded
    // machine and breaks a safety rule); either way the restore is pushed to every worker at once.
    const report = await waitFor(async () => {
      const r = await api('GET', `/v1/drills/${start.json.id}`);
      return r.json.state === 'done' || r.json.state === 'aborted' ? r.json : null;
    }, 15_000);
    expect(['done', 'aborted']).toContain(report.state);
    await waitFor(async () => [...new Set((await clients.ask(dns, 'app.wk.test', 'A')).map(addrs))].join() === '127.0.0.41', 2_000, 20);
  });

  it.skipIf(skip)('a health change found by the node reaches every worker, and stays', async () => {
    targets[0]!.status = 500;
    // The node's own view first (the check, then the verdict) ...
    await waitFor(
      async () => (await api('GET', '/v1/health')).json.endpoints.find((e: { endpoint: string }) => e.endpoint === 'first/a')?.state === 'down',
      10_000,
    );
    // ... then every worker, from every port, within a moment: the change is pushed, not polled.
    await waitFor(async () => [...new Set((await clients.ask(dns, 'app.wk.test', 'A')).map(addrs))].join() === '127.0.0.43', 2_000, 20);
    for (let i = 0; i < 3; i++) expect(new Set((await clients.ask(dns, 'app.wk.test', 'A')).map(addrs))).toEqual(new Set(['127.0.0.43']));
    targets[0]!.status = 200;
    await waitFor(
      async () => (await api('GET', '/v1/health')).json.endpoints.find((e: { endpoint: string }) => e.endpoint === 'first/a')?.state === 'up',
      10_000,
    );
    await waitFor(async () => [...new Set((await clients.ask(dns, 'app.wk.test', 'A')).map(addrs))].join() === '127.0.0.41', 2_000, 20);
  });

  it.skipIf(skip)('the checks run once per node, not once per worker', async () => {
    const hits0 = targets.map((t) => t.hits);
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 4_000));
    const seconds = (Date.now() - t0) / 1000;
    // One check a second (jitter ±10%) per endpoint; two workers checking too would double it.
    for (const [i, t] of targets.entries()) expect(t.hits - hits0[i]!).toBeLessThanOrEqual(Math.ceil(seconds * 1.2) + 1);
  });

  it.skipIf(skip)('a worker killed with SIGKILL is replaced and reported; the other answers meanwhile', async () => {
    const pids = workerPids(node);
    const victim = pids.get(1)!;
    process.kill(victim, 'SIGKILL');
    await waitFor(async () => node.logs.some((l) => l.includes('dns worker exited') && l.includes(`"worker_pid":${victim}`)));
    // Its socket is gone with it: the kernel sends every source to the survivor until the replacement binds.
    const meanwhile = await clients.ask(dns, 'v.wk.test', 'TXT');
    expect(meanwhile.filter((r) => r === null)).toHaveLength(0);
    await waitFor(async () => workerPids(node).get(1) !== victim && node.logs.some((l) => l.includes('dns worker replaced')));
    const fresh = workerPids(node).get(1)!;
    expect(alive(fresh)).toBe(true);
    expect(alive(victim)).toBe(false);
    await waitFor(async () => (await api('GET', '/readyz')).json.dns_workers?.serving === 2);
    expect((await metric(admin, 'meridian_dns_worker_restarts_total')).get('{worker="1"}')).toBe(1);
    // The replacement serves the current state, and takes writes like the others.
    const replies = await clients.ask(dns, 'v.wk.test', 'TXT', 4);
    expect(replies.filter((r) => r === null)).toHaveLength(0);
    expect(new Set(replies.map(txt))).toEqual(new Set(['round-5']));
    expect((await api('PUT', '/v1/zones/wk.test/records/v/TXT', { name: 'v', type: 'TXT', value: '"after-restart"' })).status).toBe(200);
    expect(new Set((await clients.ask(dns, 'v.wk.test', 'TXT')).map(txt))).toEqual(new Set(['after-restart']));
  });

  it.skipIf(skip)(
    'a wedged worker (SIGSTOP) cannot hold a write: it is replaced, and every worker then serves the write',
    async () => {
      const victim = workerPids(node).get(2)!;
      process.kill(victim, 'SIGSTOP');
      try {
        const put = await api('PUT', '/v1/zones/wk.test/records/v/TXT', { name: 'v', type: 'TXT', value: '"past-a-wedge"' });
        expect(put.status, put.text).toBe(200);
        expect(node.logs.some((l) => l.includes('did not confirm an update in time'))).toBe(true);
      } finally {
        if (alive(victim)) process.kill(victim, 'SIGCONT');
      }
      await waitFor(async () => workerPids(node).get(2) !== victim);
      await waitFor(async () => (await api('GET', '/readyz')).json.dns_workers?.serving === 2);
      expect(new Set((await clients.ask(dns, 'v.wk.test', 'TXT')).map(txt))).toEqual(new Set(['past-a-wedge']));
    },
    30_000,
  );

  it.skipIf(skip)('SIGTERM stops the node and every worker, and frees the port', async () => {
    const pids = [...workerPids(node).values()];
    expect(pids.every(alive)).toBe(true);
    node.child.kill('SIGTERM');
    expect(await node.exited).toBe(0);
    expect(node.logs.some((l) => l.includes('"msg":"stopped"'))).toBe(true);
    expect(node.logs.some((l) => l.includes('dns worker exited'))).toBe(true); // only the two killed above
    await waitFor(async () => pids.every((p) => !alive(p)), 5_000);
    // Nobody holds the port any more, for UDP or TCP (bound without SO_REUSEPORT, so a straggler would show).
    const udp = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(dns, '127.0.0.1', () => resolve());
    });
    udp.close();
    const tcp = net.createServer();
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(dns, '127.0.0.1', () => resolve());
    });
    await new Promise((r) => tcp.close(r));
  });
});

describe.skipIf(!hasEtcd || !canShare)(`in cluster mode: meridian serve --etcd --workers 2${hasEtcd ? '' : ' (skipped: no etcd)'}`, () => {
  let etcd: TestEtcd;
  let node: MeridianProcess;
  let clients: Clients;
  let kv: EtcdClient;
  let dir: string;
  const prefix = `/wk-${process.pid}`;
  const targets: Target[] = [];

  beforeAll(async () => {
    etcd = await startEtcd();
    const port = await freePort();
    for (const h of ['127.0.0.41', '127.0.0.43']) {
      const t = new Target(h, port);
      await t.start();
      targets.push(t);
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-workers-cl-'));
    fs.writeFileSync(path.join(dir, 'wk.test.yaml'), zoneText(port));
    const imported = spawnSync(
      process.execPath,
      [path.join(repoRoot, 'dist/main.js'), 'cluster', 'import', '--etcd', etcd.url, '--etcd-prefix', prefix, '--zones', dir],
      {
        encoding: 'utf8',
      },
    );
    expect(imported.status, imported.stdout + imported.stderr).toBe(0);
    node = await spawnMeridian(['--etcd', etcd.url, '--etcd-prefix', prefix, '--node-id', 'wk1', '--region', 'primary', '--lease-ttl', '2', '--workers', '2']);
    clients = await Clients.open(200);
    kv = new EtcdClient({ endpoints: [etcd.url], log: silentLogger() });
  }, 60_000);

  afterAll(async () => {
    clients?.close();
    await kv?.close();
    if (node && node.child.exitCode === null) {
      node.child.kill('SIGTERM');
      await node.exited;
    }
    for (const t of targets) await t.stop();
    await etcd?.destroy();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a change made straight in etcd reaches every worker', async () => {
    expect(new Set((await clients.ask(node.dnsPort, 'v.wk.test', 'TXT')).map(txt))).toEqual(new Set(['start']));
    const key = `${prefix}/zones/wk.test`;
    const text = (await kv.get(key))!.value.replace('serial: 1,', 'serial: 2,').replace(`value: '"start"'`, `value: '"from-etcd"'`);
    await kv.put(key, text);
    await waitFor(async () => [...new Set((await clients.ask(node.dnsPort, 'v.wk.test', 'TXT')).map(txt))].join() === 'from-etcd', 10_000, 50);
  });

  it('an API write, stored in etcd, is answered by every worker on the very next query', async () => {
    const api = (method: string, url: string, body?: unknown) =>
      apiRequest(`http://127.0.0.1:${node.adminPort}${url}`, method, body, method === 'GET' ? {} : bearer(localToken(node.tokenFile)));
    for (let round = 1; round <= 3; round++) {
      const put = await api('PUT', '/v1/zones/wk.test/records/v/TXT', { name: 'v', type: 'TXT', value: `"etcd-${round}"` });
      expect(put.status, put.text).toBe(200);
      expect(new Set((await clients.ask(node.dnsPort, 'v.wk.test', 'TXT')).map(txt))).toEqual(new Set([`etcd-${round}`]));
    }
    const set = await api('POST', '/v1/overrides', { region: 'primary', kind: 'drain', reason: 'workers test' });
    expect(set.status, set.text).toBe(201);
    expect(new Set((await clients.ask(node.dnsPort, 'app.wk.test', 'A')).map(addrs))).toEqual(new Set(['127.0.0.43']));
  });
});

/** What the DNS workers must have besides zones and health: DNSSEC signers and the --geoip-db database. */
describe.skipIf(!canShare)('DNSSEC and --geoip-db with --workers 2', () => {
  let node: MeridianProcess;
  let clients: Clients;
  let dir: string;
  const SIGNED = `
zone: sig.test
ttl: 60
soa: { mname: ns1, rname: hostmaster, serial: 1, refresh: 1h, retry: 10m, expire: 1w, minimum: 5 }
ns: [ns1]
dnssec: {}
records:
  - { name: ns1, type: A, value: 192.0.2.53 }
  - { name: www, type: A, value: 192.0.2.1 }
regions:
  - { id: fra, location: { lat: 50.11, lon: 8.68 }, country: DE }
  - { id: nrt, location: { lat: 35.69, lon: 139.69 }, country: JP }
pools:
  - { id: fra, endpoints: [ { id: a, address: 192.0.2.10, region: fra } ] }
  - { id: nrt, endpoints: [ { id: a, address: 203.0.113.10, region: nrt } ] }
policies:
  - { name: geo, type: A, ttl: 20, policy: { geo: { branches: [ { match: { countries: [JP] }, policy: { pool: nrt } } ], default: { pool: fra } } } }
`;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-workers-sig-'));
    fs.mkdirSync(path.join(dir, 'zones'));
    fs.mkdirSync(path.join(dir, 'state'));
    fs.writeFileSync(path.join(dir, 'zones', 'sig.test.yaml'), SIGNED);
    const db = path.join(repoRoot, 'test/fixtures/geo/gslb-test-city.mmdb');
    node = await spawnMeridian(['--zones', path.join(dir, 'zones'), '--state', path.join(dir, 'state'), '--geoip-db', db, '--workers', '2']);
    clients = await Clients.open(120);
  }, 60_000);
  afterAll(async () => {
    clients?.close();
    if (node && node.child.exitCode === null) {
      node.child.kill('SIGTERM');
      await node.exited;
    }
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** One DO=1 query per socket; each answer's RRSIG key tags (RFC 4034 §3.1: key tag at octet 16). */
  const signedTags = async (name: string, type: string): Promise<string[]> => {
    const replies = await Promise.all(
      clients.socks.map(
        (s, i) =>
          new Promise<string>((resolve) => {
            const q = dnsPacket.encode({
              type: 'query',
              id: i,
              questions: [{ type: type as dnsPacket.RecordType, name }],
              additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: dnsPacket.DNSSEC_OK } as unknown as dnsPacket.Answer],
            });
            const timer = setTimeout(() => resolve('NO ANSWER'), 2_000);
            const on = (msg: Buffer): void => {
              if (msg.readUInt16BE(0) !== i) return;
              clearTimeout(timer);
              s.off('message', on);
              const r = dnsPacket.decode(msg);
              const sigs = (r.answers ?? []).filter((a) => a.type === 'RRSIG') as unknown as { data: { keyTag: number } }[];
              resolve(sigs.map((x) => x.data.keyTag).join(',') || 'UNSIGNED');
            };
            s.on('message', on);
            s.send(q, node.dnsPort, '127.0.0.1');
          }),
      ),
    );
    return [...new Set(replies)];
  };

  it('every worker signs with the node’s key (the same key tag from every port), and serves its DNSKEY', async () => {
    const status = await apiRequest(`http://127.0.0.1:${node.adminPort}/v1/zones/sig.test/dnssec`, 'GET');
    expect(status.status, status.text).toBe(200);
    const tags = await signedTags('www.sig.test', 'A');
    expect(tags).toHaveLength(1);
    expect(tags[0]).toMatch(/^\d+$/);
    expect(status.text).toContain(tags[0]!);
    expect(await signedTags('sig.test', 'DNSKEY')).toEqual(tags);
  });

  it('every worker locates clients with the --geoip-db database (127.0.0.1 is in Frankfurt there, JP via ECS is Tokyo)', async () => {
    expect(new Set((await clients.ask(node.dnsPort, 'geo.sig.test', 'A')).map(addrs))).toEqual(new Set(['192.0.2.10']));
    const jp = await Promise.all(
      Array.from({ length: 40 }, (_, i) => clients.socks[i]!).map(async () => {
        const { ask } = await import('../support/dns-client.js');
        return (await ask(node.dnsPort, 'geo.sig.test', 'A', { ecs: { family: 1, sourcePrefix: 24, address: '203.0.113.0' } })).answers?.map((a) => a.data);
      }),
    );
    expect(new Set(jp.map((a) => JSON.stringify(a)))).toEqual(new Set([JSON.stringify(['203.0.113.10'])]));
  });
});
