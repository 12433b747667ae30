/**
 * Cluster mode end to end: a real etcd on loopback (Debian's etcd-server), real `meridian serve
 * --etcd` processes in three regions plus a standalone `meridian checker --etcd`, real HTTP
 * targets, and dig through every node. Leases are 2 s and checks run every second (fall 2,
 * stale_after 3 s), so each case takes seconds.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dig, freePort, repoRoot, spawnMeridian, waitFor, type MeridianProcess } from '../support/tools.js';
import { Target } from '../support/target.js';
import { hasEtcd, startEtcd, type TestEtcd } from '../support/etcd.js';

const LEASE = 2;

function zoneText(port: number, serial = 1): string {
  return `
zone: cl.test
soa: { mname: ns1, rname: hostmaster, serial: ${serial}, refresh: 1h, retry: 10m, expire: 1w, minimum: 5 }
ns: [ns1]
records:
  - { name: ns1, type: A, value: 192.0.2.53 }
checks:
  - { id: web, type: http, path: /health, port: ${port}, body: ok, interval: 1s, timeout: 500ms, rise: 2, fall: 2, stale_after: 3s }
regions:
  - { id: eu, location: { lat: 50, lon: 8 }, country: DE }
  - { id: us, location: { lat: 39, lon: -77 }, country: US }
  - { id: ap, location: { lat: 1.3, lon: 103.8 }, country: SG }
pools:
  - id: first
    check: web
    endpoints:
      - { id: a, address: 127.0.0.31, region: eu }
      - { id: b, address: 127.0.0.32, region: eu }
  - id: second
    check: web
    endpoints:
      - { id: c, address: 127.0.0.33, region: us }
policies:
  - name: app
    type: A
    ttl: 1
    policy: { failover: { tiers: [ { pool: first }, { pool: second } ] } }
`;
}

let etcd: TestEtcd;
const procs: ChildProcess[] = [];
const targets: Target[] = [];
const dirs: string[] = [];
let run = 0;

beforeAll(async () => {
  if (!hasEtcd) throw new Error('etcd-server is not installed (.ci/run installs it)');
  etcd = await startEtcd();
}, 30_000);
afterEach(async () => {
  for (const p of procs.splice(0)) if (p.exitCode === null) p.kill('SIGKILL');
  for (const t of targets.splice(0)) await t.stop();
  if (etcd) await etcd.start().catch(() => undefined);
});
afterAll(async () => {
  await etcd?.destroy();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** Runs a meridian command to completion. */
function meridian(args: string[]): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [path.join(repoRoot, 'dist/main.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, out })));
}

/** A fresh cluster prefix seeded with the test zone through `meridian cluster import`. */
async function seed(port: number): Promise<string> {
  const prefix = `/cl-${process.pid}-${run++}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-cl-'));
  dirs.push(dir);
  fs.writeFileSync(path.join(dir, 'cl.test.yaml'), zoneText(port));
  const r = await meridian(['cluster', 'import', '--etcd', etcd.url, '--etcd-prefix', prefix, '--zones', dir]);
  expect(r.out).toContain('imported cl.test.');
  expect(r.code).toBe(0);
  return prefix;
}

async function node(prefix: string, id: string, region: string, extra: string[] = []): Promise<MeridianProcess> {
  const n = await spawnMeridian(['--etcd', etcd.url, '--etcd-prefix', prefix, '--node-id', id, '--region', region, '--lease-ttl', String(LEASE), ...extra]);
  procs.push(n.child);
  return n;
}

function checker(prefix: string, id: string, region: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [path.join(repoRoot, 'dist/main.js'), 'checker', '--etcd', etcd.url, '--etcd-prefix', prefix, '--node-id', id, '--region', region, '--lease-ttl', String(LEASE)], { stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('meridian checker running')) resolve(child);
    });
    child.on('exit', (code) => reject(new Error(`checker exited ${code}: ${out}`)));
  });
}

async function startTargets(port: number): Promise<Target[]> {
  const ts = ['127.0.0.31', '127.0.0.32', '127.0.0.33'].map((h) => new Target(h, port));
  for (const t of ts) await t.start();
  targets.push(...ts);
  return ts;
}

async function answer(n: MeridianProcess, name = 'app.cl.test', type = 'A'): Promise<string> {
  return (await dig(n.dnsPort, [name, type, '+short'])).trim().split('\n').filter(Boolean).sort().join(' ');
}

const api = (n: MeridianProcess, p: string): string => `http://127.0.0.1:${n.adminPort}${p}`;

async function json<T>(n: MeridianProcess, p: string): Promise<T> {
  return (await (await fetch(api(n, p))).json()) as T;
}

type Nodes = { etcd: string; active_checkers: Record<string, { id: string }>; nodes: { id: string; kind: string; region: string; revision: number; active_checker: boolean; last_seen_ms_ago: number }[] };
type HealthView = { endpoints: { endpoint: string; state: string; votes: { checker: string; up: boolean; fresh: boolean }[] }[] };

describe('a three-node cluster on etcd (real processes)', () => {
  it('an API write on node 1 is answered by nodes 2 and 3, with the same serial; every member is listed', async () => {
    const port = await freePort();
    await startTargets(port);
    const prefix = await seed(port);
    const nodes = [await node(prefix, 'n1', 'eu'), await node(prefix, 'n2', 'us'), await node(prefix, 'n3', 'ap')];
    for (const n of nodes) expect(await answer(n)).toBe('127.0.0.31 127.0.0.32');

    const res = await fetch(api(nodes[0]!, '/v1/zones/cl.test/records'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'w1', type: 'A', value: '198.51.100.1' }) });
    expect(res.status).toBe(201);
    for (const n of nodes.slice(1)) await waitFor(async () => (await answer(n, 'w1.cl.test')) === '198.51.100.1', 5_000, 20);
    // SOA serials follow the write and are the same everywhere (RFC 1982 increase).
    const soas = await Promise.all(nodes.map((n) => answer(n, 'cl.test', 'SOA')));
    expect(new Set(soas).size).toBe(1);
    expect(soas[0]).toContain(' 2 3600 ');
    // Every node lists every member, one active checker per region, all at the same revision.
    const view = await waitFor(async () => {
      const v = await json<Nodes>(nodes[2]!, '/v1/nodes');
      return v.nodes.length === 3 && new Set(v.nodes.map((x) => x.revision)).size === 1 && Object.keys(v.active_checkers).length === 3 ? v : null;
    }, 10_000);
    expect(view.etcd).toBe('reachable');
    expect(view.nodes.map((x) => `${x.id}/${x.region}`)).toEqual(['n1/eu', 'n2/us', 'n3/ap']);
    expect(Object.fromEntries(Object.entries(view.active_checkers).map(([r, c]) => [r, c.id]))).toEqual({ eu: 'n1', us: 'n2', ap: 'n3' });
    const region = await json<{ nodes: { id: string }[] }>(nodes[0]!, '/v1/regions/us/status');
    expect(region.nodes.map((x) => x.id)).toEqual(['n2']);
    // A write on node 3 with an ETag read on node 2 works too (one truth).
    const zone = await fetch(api(nodes[1]!, '/v1/zones/cl.test'));
    const put = await fetch(api(nodes[2]!, '/v1/zones/cl.test/records/w1/A'), { method: 'PUT', headers: { 'content-type': 'application/json', 'if-match': zone.headers.get('etag')! }, body: JSON.stringify({ name: 'w1', type: 'A', value: '198.51.100.2' }) });
    expect(put.status).toBe(200);
    for (const n of nodes) await waitFor(async () => (await answer(n, 'w1.cl.test')) === '198.51.100.2', 5_000, 20);
  });

  it('a dead target is failed over by all three nodes alike; a dead checker\'s votes expire and the rest decide', async () => {
    const port = await freePort();
    const [a, b] = await startTargets(port);
    const prefix = await seed(port);
    const nodes = [await node(prefix, 'n1', 'eu'), await node(prefix, 'n2', 'us'), await node(prefix, 'n3', 'ap')];
    const view = (n: MeridianProcess, ep: string) => json<HealthView>(n, '/v1/health').then((h) => h.endpoints.find((e) => e.endpoint === ep));
    // Votes from all three regions reach every node.
    for (const n of nodes) await waitFor(async () => (await view(n, 'first/a'))?.votes.filter((v) => v.fresh).length === 3, 15_000, 200);

    await a!.stop();
    await b!.stop();
    for (const n of nodes) await waitFor(async () => (await answer(n)) === '127.0.0.33', 15_000, 100);
    for (const n of nodes) expect((await view(n, 'first/a'))!.state).toBe('down');

    // Kill node 3 (region ap's only checker): its votes go when its lease does (stale_after 3 s).
    nodes[2]!.child.kill('SIGKILL');
    for (const n of nodes.slice(0, 2)) {
      await waitFor(async () => {
        const v = await view(n, 'first/a');
        return v && v.votes.length === 2 && !v.votes.some((x) => x.checker === 'ap') ? v : null;
      }, 10_000, 200);
    }
    // The two remaining regions decide: the targets come back, both say up, both nodes follow.
    await a!.start();
    await b!.start();
    for (const n of nodes.slice(0, 2)) await waitFor(async () => (await answer(n)) === '127.0.0.31 127.0.0.32', 15_000, 100);
    const v = (await view(nodes[0]!, 'first/a'))!;
    expect(v.state).toBe('up');
    expect(v.votes.map((x) => x.checker).sort()).toEqual(['eu', 'us']);
  });

  it('one checker per region probes; killing the active one hands the checks to a standby within a lease', async () => {
    const port = await freePort();
    const [a] = await startTargets(port);
    const prefix = await seed(port);
    // Region eu: two serving nodes and a standalone checker, all able to check.
    const n1 = await node(prefix, 'n1', 'eu');
    const n2 = await node(prefix, 'n2', 'eu');
    const c1 = await checker(prefix, 'c1', 'eu');
    await waitFor(async () => (await json<Nodes>(n1, '/v1/nodes')).nodes.length === 3, 10_000);
    const active = (await json<Nodes>(n1, '/v1/nodes')).active_checkers['eu']!.id;
    expect(['n1', 'n2', 'c1']).toContain(active);
    // Three processes in the region probe as often as one: about once a second, not three times.
    const h0 = a!.hits;
    await new Promise((r) => setTimeout(r, 5_000));
    const probes = a!.hits - h0;
    expect(probes).toBeGreaterThanOrEqual(3);
    expect(probes).toBeLessThanOrEqual(8);

    // Kill the active one without a goodbye: its lease runs out, a standby takes over.
    const victim = active === 'c1' ? c1 : active === 'n1' ? n1.child : n2.child;
    const observer = active === 'n1' ? n2 : n1;
    const killed = Date.now();
    victim.kill('SIGKILL');
    const took = await waitFor(async () => {
      const now = (await json<Nodes>(observer, '/v1/nodes')).active_checkers['eu']?.id;
      return now && now !== active ? Date.now() - killed : null;
    }, (LEASE + 5) * 1000, 50);
    // One lease period (2 s) plus the time to see the key go and campaign.
    expect(took).toBeLessThanOrEqual((LEASE + 2) * 1000);
    // The standby really probes: the target keeps getting about one probe a second.
    const h1 = a!.hits;
    await new Promise((r) => setTimeout(r, 3_000));
    expect(a!.hits - h1).toBeGreaterThanOrEqual(1);
  });
});
