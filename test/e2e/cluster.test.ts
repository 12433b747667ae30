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
import { bearer, localToken } from '../support/api.js';
import { Target } from '../support/target.js';
import { ask } from '../support/dns-client.js';
import { hasEtcd, startEtcd, type TestEtcd } from '../support/etcd.js';
import { EtcdClient } from '../../src/cluster/etcd-client.js';
import { silentLogger } from '../../src/log.js';
import { splitEtagLine } from '../../src/zone/etag-line.js';

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
  - name: near
    type: A
    ttl: 1
    policy: { latency: { regions: [ { region: eu, policy: { weighted: { pool: first } } }, { region: us, policy: { weighted: { pool: second } } } ] } }
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
  for (const d of dirs) {
    fs.rmSync(d, { recursive: true, force: true });
    fs.rmSync(`${d}.latency.yaml`, { force: true });
  }
});

/** Runs a meridian command to completion (stdout and stderr together in `out`). */
function meridian(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [path.join(repoRoot, 'dist/main.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
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

/** Each node runs with no token configured: its writes carry the token it made for itself. */
const auth = (n: MeridianProcess): Record<string, string> => bearer(localToken(n.tokenFile));

async function node(prefix: string, id: string, region: string, extra: string[] = []): Promise<MeridianProcess> {
  const n = await spawnMeridian(['--etcd', etcd.url, '--etcd-prefix', prefix, '--node-id', id, '--region', region, '--lease-ttl', String(LEASE), ...extra]);
  procs.push(n.child);
  return n;
}

function checker(prefix: string, id: string, region: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      path.join(repoRoot, 'dist/main.js'),
      'checker',
      '--etcd',
      etcd.url,
      '--etcd-prefix',
      prefix,
      '--node-id',
      id,
      '--region',
      region,
      '--lease-ttl',
      String(LEASE),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
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

type Nodes = {
  etcd: string;
  active_checkers: Record<string, { id: string }>;
  nodes: { id: string; kind: string; region: string; revision: number; active_checker: boolean; last_seen_ms_ago: number }[];
};
type HealthView = { endpoints: { endpoint: string; state: string; votes: { checker: string; by?: string; up: boolean; fresh: boolean }[] }[] };

describe('a three-node cluster on etcd (real processes)', () => {
  it('an API write on node 1 is answered by nodes 2 and 3, with the same serial; every member is listed', async () => {
    const port = await freePort();
    await startTargets(port);
    const prefix = await seed(port);
    const nodes = [await node(prefix, 'n1', 'eu'), await node(prefix, 'n2', 'us'), await node(prefix, 'n3', 'ap')];
    for (const n of nodes) expect(await answer(n)).toBe('127.0.0.31 127.0.0.32');

    const res = await fetch(api(nodes[0]!, '/v1/zones/cl.test/records'), {
      method: 'POST',
      headers: { ...auth(nodes[0]!), 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'w1', type: 'A', value: '198.51.100.1' }),
    });
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
    const listed = await meridian(['ctl', '--api', api(nodes[1]!, ''), 'nodes']);
    expect(listed.code).toBe(0);
    expect(listed.out).toContain('cluster, etcd reachable');
    expect(listed.out).toMatch(/^n2 \*\s+node\s+us\s/m);
    expect(listed.out).toMatch(/^n1\s+node\s+eu\s.*\syes$/m);
    const region = await json<{ nodes: { id: string }[] }>(nodes[0]!, '/v1/regions/us/status');
    expect(region.nodes.map((x) => x.id)).toEqual(['n2']);
    // A write on node 3 with an ETag read on node 2 works too (one truth).
    const zone = await fetch(api(nodes[1]!, '/v1/zones/cl.test'));
    const put = await fetch(api(nodes[2]!, '/v1/zones/cl.test/records/w1/A'), {
      method: 'PUT',
      headers: { ...auth(nodes[2]!), 'content-type': 'application/json', 'if-match': zone.headers.get('etag')! },
      body: JSON.stringify({ name: 'w1', type: 'A', value: '198.51.100.2' }),
    });
    expect(put.status).toBe(200);
    for (const n of nodes) await waitFor(async () => (await answer(n, 'w1.cl.test')) === '198.51.100.2', 5_000, 20);
    // One audit log across the cluster: each node shows both writes, with the node that took it.
    for (const n of nodes) {
      const entries = await waitFor(
        async () => {
          const { entries } = await json<{ entries: { action: string; target: string; node?: string; before: string | null; after: string | null }[] }>(
            n,
            '/v1/audit?target=cl.test.',
          );
          return entries.length >= 2 ? entries : null;
        },
        5_000,
        50,
      );
      expect(entries.slice(0, 2).map((e) => `${e.action}@${e.node}`)).toEqual(['record.replace@n3', 'record.create@n1']);
      expect(entries[0]!.before).toBe(entries[1]!.after);
    }
  });

  it("a dead target is failed over by all three nodes alike; a dead checker's votes expire and the rest decide", async () => {
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
    // Open votes: every node shows each region's vote and the process that cast it. (The majority
    // decided already; the third region may need one more check to reach fall 2.)
    const votes = async () =>
      (await view(nodes[1]!, 'first/a'))!.votes
        .map((v) => `${v.checker}:${v.by}:${v.up}`)
        .sort()
        .join(' ');
    await waitFor(async () => (await votes()) === 'ap:n3:false eu:n1:false us:n2:false', 5_000, 100);

    // Kill node 3 (region ap's only checker): its votes go when its lease does (stale_after 3 s).
    nodes[2]!.child.kill('SIGKILL');
    for (const n of nodes.slice(0, 2)) {
      await waitFor(
        async () => {
          const v = await view(n, 'first/a');
          return v && v.votes.length === 2 && !v.votes.some((x) => x.checker === 'ap') ? v : null;
        },
        10_000,
        200,
      );
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
    const took = await waitFor(
      async () => {
        const now = (await json<Nodes>(observer, '/v1/nodes')).active_checkers['eu']?.id;
        return now && now !== active ? Date.now() - killed : null;
      },
      (LEASE + 5) * 1000,
      50,
    );
    // One lease period (2 s) plus the time to see the key go and campaign.
    expect(took).toBeLessThanOrEqual((LEASE + 2) * 1000);
    // The standby really probes: the target keeps getting about one probe a second.
    const h1 = a!.hits;
    await new Promise((r) => setTimeout(r, 3_000));
    expect(a!.hits - h1).toBeGreaterThanOrEqual(1);
  });
});

describe('etcd goes away and comes back', () => {
  it('DNS never stops, readiness says degraded, writes fail cleanly with 503, and all converges again without a restart', async () => {
    const port = await freePort();
    const [a] = await startTargets(port);
    const prefix = await seed(port);
    const nodes = [await node(prefix, 'n1', 'eu'), await node(prefix, 'n2', 'us')];
    for (const n of nodes)
      await waitFor(async () => (await json<HealthView>(n, '/v1/health')).endpoints.find((e) => e.endpoint === 'first/a')?.votes.length === 2, 15_000, 200);
    const etag = (await fetch(api(nodes[0]!, '/v1/zones/cl.test'))).headers.get('etag');

    // Ask both nodes every 50 ms for the whole outage; every question must be answered.
    let asked = 0;
    const failures: string[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        for (const n of nodes) {
          asked++;
          try {
            const r = await ask(n.dnsPort, 'app.cl.test', 'A', { timeoutMs: 1000 });
            if (r.rcode !== 'NOERROR' || (r.answers ?? []).length === 0) failures.push(`${r.rcode} ${JSON.stringify(r.answers)}`);
          } catch (err) {
            failures.push(String(err));
          }
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();

    await etcd.stop();
    for (const n of nodes) {
      const ready = await waitFor(
        async () => {
          const res = await fetch(api(n, '/readyz'));
          const body = (await res.json()) as { status: string; reason?: string };
          return body.status === 'degraded' ? { code: res.status, body } : null;
        },
        10_000,
        100,
      );
      // Degraded, not unready: a load balancer keeps sending DNS traffic.
      expect(ready.code).toBe(200);
      expect(ready.body.reason).toBe('degraded: etcd unreachable');
    }
    const w = await fetch(api(nodes[0]!, '/v1/zones/cl.test/records'), {
      method: 'POST',
      headers: { ...auth(nodes[0]!), 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'down', type: 'A', value: '198.51.100.9' }),
    });
    expect(w.status).toBe(503);
    expect(w.headers.get('content-type')).toContain('application/problem+json');
    expect(((await w.json()) as { code: string }).code).toBe('MRD_ERR_API_UNAVAILABLE');
    const o = await fetch(api(nodes[1]!, '/v1/overrides'), {
      method: 'POST',
      headers: { ...auth(nodes[1]!), 'content-type': 'application/json' },
      body: JSON.stringify({ region: 'eu', kind: 'drain', reason: 'test' }),
    });
    expect(o.status).toBe(503);
    expect((await fetch(api(nodes[1]!, '/v1/overrides')).then((r) => r.json())) as unknown).toEqual({ overrides: [] });
    expect(await (await fetch(api(nodes[0]!, '/metrics'))).text()).toMatch(/^meridian_etcd_up 0$/m);
    expect((await fetch(api(nodes[0]!, '/v1/zones/cl.test'))).headers.get('etag')).toBe(etag);

    // Each node still checks from its own region and acts on what it sees.
    await a!.stop();
    for (const n of nodes) await waitFor(async () => (await answer(n)) === '127.0.0.32', 15_000, 100);

    await etcd.start();
    for (const n of nodes) await waitFor(async () => ((await (await fetch(api(n, '/readyz'))).json()) as { status: string }).status === 'ready', 15_000, 100);
    const again = await fetch(api(nodes[0]!, '/v1/zones/cl.test/records'), {
      method: 'POST',
      headers: { ...auth(nodes[0]!), 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'back', type: 'A', value: '198.51.100.10' }),
    });
    expect(again.status).toBe(201);
    await waitFor(async () => (await answer(nodes[1]!, 'back.cl.test')) === '198.51.100.10', 5_000, 50);
    await a!.start();
    for (const n of nodes) await waitFor(async () => (await answer(n)) === '127.0.0.31 127.0.0.32', 15_000, 100);
    polling = false;
    await poller;
    expect(asked).toBeGreaterThan(50);
    expect(failures).toEqual([]);
  });
});

describe('concurrent writes on two nodes', () => {
  it('exactly one of two conflicting writes wins, the other gets 412, and nothing is lost', async () => {
    const port = await freePort();
    const prefix = await seed(port);
    const n1 = await node(prefix, 'n1', 'eu', ['--no-checks']);
    const n2 = await node(prefix, 'n2', 'us', ['--no-checks']);
    const r1 = await fetch(api(n1, '/v1/zones/cl.test'));
    const r2 = await fetch(api(n2, '/v1/zones/cl.test'));
    const etag = r1.headers.get('etag')!;
    expect(r2.headers.get('etag')).toBe(etag);
    const doc = (await r1.json()) as { records: { name: string; type: string; value: string }[] };
    const withTxt = (v: string) => ({ ...doc, records: [...doc.records, { name: 'who', type: 'TXT', value: `"${v}"` }] });
    const put = (n: MeridianProcess, body: unknown) =>
      fetch(api(n, '/v1/zones/cl.test'), {
        method: 'PUT',
        headers: { ...auth(n), 'content-type': 'application/json', 'if-match': etag },
        body: JSON.stringify(body),
      });
    const [p1, p2] = await Promise.all([put(n1, withTxt('node1')), put(n2, withTxt('node2'))]);
    expect([p1.status, p2.status].sort()).toEqual([200, 412]);
    const loser = p1.status === 412 ? p1 : p2;
    expect(((await loser.json()) as { code: string }).code).toBe('MRD_ERR_API_PRECONDITION');
    const winner = p1.status === 200 ? 'node1' : 'node2';
    for (const n of [n1, n2]) await waitFor(async () => (await answer(n, 'who.cl.test', 'TXT')) === `"${winner}"`, 5_000, 50);

    // Record writes without If-Match, two at a time on both nodes: each one either succeeded and is
    // in the final zone, or was refused (412) and is not. None is silently dropped.
    const outcomes: { name: string; status: number }[] = [];
    for (let i = 0; i < 10; i++) {
      const post = async (n: MeridianProcess, name: string) => {
        const res = await fetch(api(n, '/v1/zones/cl.test/records'), {
          method: 'POST',
          headers: { ...auth(n), 'content-type': 'application/json' },
          body: JSON.stringify({ name, type: 'A', value: '198.51.100.50' }),
        });
        outcomes.push({ name, status: res.status });
      };
      await Promise.all([post(n1, `x${i}`), post(n2, `y${i}`)]);
    }
    expect(outcomes.every((o) => o.status === 201 || o.status === 412)).toBe(true);
    expect(outcomes.some((o) => o.status === 201)).toBe(true);
    const final = await waitFor(
      async () => {
        const [z1, z2] = await Promise.all([fetch(api(n1, '/v1/zones/cl.test')), fetch(api(n2, '/v1/zones/cl.test'))]);
        if (z1.headers.get('etag') !== z2.headers.get('etag')) return null;
        return (await z1.json()) as { records: { name: string }[] };
      },
      5_000,
      50,
    );
    const names = new Set(final.records.map((r) => r.name));
    for (const o of outcomes) expect(names.has(o.name)).toBe(o.status === 201);
  });
});

describe('meridian cluster import and export', () => {
  it('refuses a directory with a broken zone and writes nothing; round-trips files byte for byte (after the etag line); replaces an edit of what etcd holds, a stale or bare file only when asked', async () => {
    const prefix = `/ie-${process.pid}`;
    const broken = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-ie-'));
    dirs.push(broken);
    fs.copyFileSync(path.join(repoRoot, 'zones/example.net.zone'), path.join(broken, 'example.net.zone'));
    fs.writeFileSync(path.join(broken, 'bad.test.yaml'), 'zone: bad.test\nsoa: { mname: ns1 }\n');
    const r = await meridian(['cluster', 'import', '--etcd', etcd.url, '--etcd-prefix', prefix, '--zones', broken]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/bad\.test\.yaml/);
    expect(r.out).toContain('nothing imported');
    expect((await meridian(['cluster', 'export', '--etcd', etcd.url, '--etcd-prefix', prefix, '--zones', path.join(broken, 'out')])).out).toContain('0 zones');

    const shipped = path.join(repoRoot, 'zones');
    expect((await meridian(['cluster', 'import', '--etcd', etcd.url, '--etcd-prefix', prefix, '--zones', shipped])).code).toBe(0);
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-ie-'));
    dirs.push(out);
    const e = await meridian(['cluster', 'export', '--etcd', etcd.url, '--etcd-prefix', prefix, '--zones', out]);
    expect(e.code).toBe(0);
    expect(fs.readdirSync(out).sort()).toEqual(fs.readdirSync(shipped).sort());
    // Each file is its key's text byte for byte, after a first line naming the ETag it was read at.
    for (const f of fs.readdirSync(shipped)) {
      const exported = splitEtagLine(fs.readFileSync(path.join(out, f), 'utf8'));
      expect(exported.etag, f).toMatch(/^"2026112401-[0-9a-f]+"$/);
      expect(exported.kind).toBe(f.endsWith('.zone') ? 'master' : 'yaml');
      expect(exported.text).toBe(fs.readFileSync(path.join(shipped, f), 'utf8'));
    }
    // Importing the export unchanged changes nothing (the line is stripped, not stored).
    expect((await meridian(['cluster', 'import', '--etcd', etcd.url, '--etcd-prefix', prefix, '--zones', out])).out).toMatch(
      /unchanged example\.net\.[\s\S]*unchanged gslb\.example\.org\./,
    );

    // An edit of exactly what etcd holds (the line's ETag) replaces it without --replace.
    const mf = path.join(out, 'example.net.zone');
    const exportedMf = fs.readFileSync(mf, 'utf8');
    fs.writeFileSync(mf, exportedMf.replace('2026112401 ; serial', '2026112402 ; serial'));
    const edited = await meridian(['cluster', 'import', '--etcd', etcd.url, '--etcd-prefix', prefix, '--zones', out]);
    expect(edited.code, edited.out).toBe(0);
    expect(edited.out).toContain('replaced example.net.');
    const reader = new EtcdClient({ endpoints: [etcd.url], log: silentLogger() });
    expect((await reader.get(`${prefix}/zones/example.net`))?.value).toBe(splitEtagLine(fs.readFileSync(mf, 'utf8')).text);
    await reader.close();
    // The same file again is now stale: etcd changed since it was exported.
    fs.writeFileSync(mf, exportedMf.replace('2026112401 ; serial', '2026112403 ; serial'));
    const refused = await meridian(['cluster', 'import', '--etcd', etcd.url, '--etcd-prefix', prefix, '--zones', out]);
    expect(refused.code).toBe(1);
    expect(refused.out).toContain('example.net. changed in etcd since example.net.zone was exported');
    expect(refused.out).toContain('--replace');
    expect(refused.out).toContain('nothing imported');
    // A file without the line, for a zone etcd already holds with other text, needs --replace.
    fs.writeFileSync(mf, splitEtagLine(exportedMf).text.replace('2026112401 ; serial', '2026112403 ; serial'));
    const bare = await meridian(['cluster', 'import', '--etcd', etcd.url, '--etcd-prefix', prefix, '--zones', out]);
    expect(bare.code).toBe(1);
    expect(bare.out).toContain('give --replace to overwrite it');
    const replaced = await meridian(['cluster', 'import', '--etcd', etcd.url, '--etcd-prefix', prefix, '--zones', out, '--replace']);
    expect(replaced.code).toBe(0);
    expect(replaced.out).toContain('replaced example.net.');
    expect(replaced.out).not.toContain('warning');
    fs.writeFileSync(mf, fs.readFileSync(mf, 'utf8').replace('2026112403', '2026112403 ; same serial').replace('ns1.example.net.', 'ns1.example.net. '));
    const same = await meridian(['cluster', 'import', '--etcd', etcd.url, '--etcd-prefix', prefix, '--zones', out, '--replace']);
    expect(same.code).toBe(0);
    expect(same.out).toMatch(/warning: example\.net\. serial 2026112403 is not greater/);
    expect(replaced.out).toContain('unchanged gslb.example.org.');
  });
});

describe('overrides, the latency table and NOTIFY across the cluster', () => {
  it('a drain set on one node holds on the others; a latency table written to etcd steers every node; secondaries get NOTIFY', async () => {
    const port = await freePort();
    const prefix = await seed(port);
    // A secondary that acknowledges NOTIFY (RFC 1996 §4.7) and records what it got.
    const dgram = await import('node:dgram');
    const dnsPacket = (await import('dns-packet')).default;
    const secondary = dgram.createSocket('udp4');
    const notified: { name: string; serial: number }[] = [];
    secondary.on('message', (msg, rinfo) => {
      const q = dnsPacket.decode(msg) as unknown as {
        id: number;
        opcode: string;
        questions: { name: string; type: string }[];
        answers?: { data: { serial: number } }[];
      };
      if (q.opcode !== 'NOTIFY') return;
      notified.push({ name: q.questions[0]!.name, serial: q.answers?.[0]?.data.serial ?? -1 });
      secondary.send(
        dnsPacket.encode({ id: q.id, type: 'response', opcode: 'NOTIFY', flags: dnsPacket.AUTHORITATIVE_ANSWER, questions: q.questions } as never),
        rinfo.port,
        rinfo.address,
      );
    });
    await new Promise<void>((r) => secondary.bind(0, '127.0.0.1', () => r()));
    const secondaryPort = (secondary.address() as { port: number }).port;
    try {
      const n1 = await node(prefix, 'n1', 'eu', ['--no-checks']);
      const n2 = await node(prefix, 'n2', 'us', ['--no-checks', '--notify', `127.0.0.1:${secondaryPort}`]);
      expect(await answer(n2)).toBe('127.0.0.31 127.0.0.32');

      const set = await fetch(api(n1, '/v1/overrides'), {
        method: 'POST',
        headers: { ...auth(n1), 'content-type': 'application/json' },
        body: JSON.stringify({ region: 'eu', kind: 'drain', reason: 'maintenance', expires_in: 600 }),
      });
      expect(set.status).toBe(201);
      await waitFor(async () => (await answer(n2)) === '127.0.0.33', 5_000, 50);
      const listed = (await json<{ overrides: { id: string; kind: string; reason: string; expires_at: string }[] }>(n2, '/v1/overrides')).overrides;
      expect(listed).toMatchObject([{ id: 'region:eu', kind: 'drain', reason: 'maintenance' }]);
      const lifted = await fetch(api(n2, `/v1/overrides/${encodeURIComponent('region:eu')}`), { method: 'DELETE', headers: auth(n2) });
      expect(lifted.status).toBe(204);
      await waitFor(async () => (await answer(n1)) === '127.0.0.31 127.0.0.32', 5_000, 50);

      // The latency table lives in etcd: every node reads the same one.
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-lat-'));
      dirs.push(dir);
      fs.writeFileSync(path.join(dir, 'cl.test.yaml'), zoneText(port));
      const near = async (n: MeridianProcess) =>
        ((await ask(n.dnsPort, 'near.cl.test', 'A', { ecs: { family: 1, sourcePrefix: 24, address: '203.0.113.0' } })).answers ?? [])
          .map((a) => a.data as string)
          .sort()
          .join(' ');
      // us is nearer, then eu (whose weighted pool gives one of its two endpoints).
      for (const [rtt, want] of [
        [{ eu: 200, us: 10 }, /^127\.0\.0\.33$/],
        [{ eu: 10, us: 200 }, /^127\.0\.0\.3[12]$/],
      ] as const) {
        fs.writeFileSync(`${dir}.latency.yaml`, `- { from: 203.0.113.0/24, rtt_ms: { eu: ${rtt.eu}, us: ${rtt.us} } }\n`);
        const r = await meridian(['cluster', 'import', '--etcd', etcd.url, '--etcd-prefix', prefix, '--zones', dir, '--latency', `${dir}.latency.yaml`]);
        expect(r.out).toContain('imported the latency table');
        expect(r.code).toBe(0);
        for (const n of [n1, n2]) await waitFor(async () => want.test(await near(n)), 5_000, 50);
      }

      // A zone write on node 1 changes the serial; node 2 sees it through etcd and notifies.
      const w = await fetch(api(n1, '/v1/zones/cl.test/records'), {
        method: 'POST',
        headers: { ...auth(n1), 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'n', type: 'A', value: '198.51.100.3' }),
      });
      expect(w.status).toBe(201);
      await waitFor(async () => notified.some((x) => x.name === 'cl.test' && x.serial === 2), 5_000, 50);
    } finally {
      secondary.close();
    }
  });
});

describe('a live drill in a cluster', () => {
  it('drains the region on every node and reports when each node dropped and took back the target', async () => {
    const port = await freePort();
    const prefix = await seed(port);
    const n1 = await node(prefix, 'n1', 'eu', ['--no-checks']);
    const n2 = await node(prefix, 'n2', 'us', ['--no-checks']);
    const n3 = await node(prefix, 'n3', 'ap', ['--no-checks']);
    // A node's membership record names its DNS address once it listens (a first record may not);
    // the drill watches the peers whose records name one.
    await waitFor(async () => {
      const v = (await json<Nodes>(n1, '/v1/nodes')).nodes as (Nodes['nodes'][number] & { dns?: string | null })[];
      return v.length === 3 && v.every((x) => x.dns);
    }, 10_000);
    const start = await fetch(api(n1, '/v1/drills'), {
      method: 'POST',
      headers: { ...auth(n1), 'content-type': 'application/json' },
      body: JSON.stringify({ region: 'eu', mode: 'live', duration_s: 2, reason: 'cluster drill' }),
    });
    expect(start.status).toBe(202);
    const id = ((await start.json()) as { id: string }).id;
    // The drain is stored in etcd, so the other nodes stop answering with eu too.
    for (const n of [n2, n3]) await waitFor(async () => (await answer(n)) === '127.0.0.33', 3_000, 20);
    const report = await waitFor(
      async () => {
        const r = (await json<{ state: string }>(n1, `/v1/drills/${id}`)) as {
          state: string;
          nodes: { node: string; drained_after_ms: number | null; restored_after_ms: number | null }[];
          checks: { rule: string; pass: boolean; detail: string }[];
          empty_or_servfail: number;
        };
        return r.state === 'done' ? r : null;
      },
      20_000,
      200,
    );
    expect(report.nodes).toHaveLength(3);
    expect(report.nodes.map((x) => x.node)).toEqual(expect.arrayContaining(['n2', 'n3']));
    for (const x of report.nodes) {
      expect(x.drained_after_ms, x.node).not.toBeNull();
      expect(x.restored_after_ms, x.node).not.toBeNull();
    }
    expect(report.empty_or_servfail).toBe(0);
    for (const c of report.checks) expect(c.pass, `${c.rule}: ${c.detail}`).toBe(true);
    expect(report.checks.find((c) => c.rule === 'converged')!.detail).toContain('on all 3 nodes');
    for (const n of [n1, n2, n3]) expect(await answer(n)).toBe('127.0.0.31 127.0.0.32');
    expect((await json<{ overrides: unknown[] }>(n3, '/v1/overrides')).overrides).toEqual([]);
  }, 40_000);
});

describe('cluster mode: bad arguments and a cold start without etcd', () => {
  it('refuses bad cluster arguments with a usage error', async () => {
    const bad = await meridian(['serve', '--etcd', 'not a url']);
    expect(bad.code).toBe(2);
    expect(bad.out).toContain('--etcd');
    const both = await meridian(['checker', '--region', 'eu', '--etcd', etcd.url, '--node', 'http://127.0.0.1:1']);
    expect(both.code).toBe(2);
    const latency = await meridian(['serve', '--etcd', etcd.url, '--latency', '/nonexistent', '--dns', '127.0.0.1:0', '--admin', '127.0.0.1:0']);
    expect(latency.code).toBe(1);
    expect(latency.out).toContain('MRD_ERR_CONFIG');
    const id = await meridian(['serve', '--etcd', etcd.url, '--node-id', 'a/b']);
    expect(id.code).toBe(2);
    const sub = await meridian(['cluster', 'frobnicate', '--etcd', etcd.url]);
    expect(sub.code).toBe(2);
  });

  it('a node started while etcd is down is not ready, then loads by itself when etcd comes up', async () => {
    const port = await freePort();
    const prefix = await seed(port);
    await etcd.stop();
    const n = await node(prefix, 'cold', 'eu', ['--no-checks']);
    const res = await fetch(api(n, '/readyz'));
    expect(res.status).toBe(503);
    expect(((await res.json()) as { reason: string }).reason).toContain('etcd unreachable');
    expect((await ask(n.dnsPort, 'app.cl.test', 'A')).rcode).toBe('REFUSED');
    await etcd.start();
    await waitFor(async () => (await answer(n)) === '127.0.0.31 127.0.0.32', 15_000, 100);
    // Loaded; with no checker anywhere (--no-checks) it waits for the first votes, not for etcd.
    const now = (await (await fetch(api(n, '/readyz'))).json()) as { reason?: string };
    expect(now.reason).toBe('the first round of health checks is not done');
  });
});

describe('etcd over TLS with client certificates', () => {
  it('import, serve and checker work with --etcd-ca/--etcd-cert/--etcd-key; without a client certificate etcd refuses', async () => {
    const secure = await startEtcd({ tls: true });
    try {
      const tls = secure.tls!;
      const flags = ['--etcd', secure.url, '--etcd-ca', tls.ca, '--etcd-cert', tls.clientCert, '--etcd-key', tls.clientKey];
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-tls-'));
      dirs.push(dir);
      const port = await freePort();
      await startTargets(port);
      fs.writeFileSync(path.join(dir, 'cl.test.yaml'), zoneText(port));
      const refused = await meridian(['cluster', 'import', '--etcd', secure.url, '--etcd-ca', tls.ca, '--zones', dir]);
      expect(refused.code).toBe(1);
      expect(refused.out).toContain('MRD_ERR_ETCD');
      const ok = await meridian(['cluster', 'import', ...flags, '--zones', dir]);
      expect(ok.code).toBe(0);
      const n = await spawnMeridian([...flags, '--node-id', 't1', '--region', 'eu', '--lease-ttl', String(LEASE)]);
      procs.push(n.child);
      const c = spawn(process.execPath, [path.join(repoRoot, 'dist/main.js'), 'checker', ...flags, '--region', 'us', '--node-id', 'tc'], { stdio: 'ignore' });
      procs.push(c);
      expect(await answer(n)).toBe('127.0.0.31 127.0.0.32');
      await waitFor(
        async () =>
          (await json<HealthView>(n, '/v1/health')).endpoints
            .find((e) => e.endpoint === 'first/a')
            ?.votes.map((v) => v.checker)
            .sort()
            .join() === 'eu,us',
        15_000,
        200,
      );
      const nodes = await json<Nodes>(n, '/v1/nodes');
      expect(nodes.etcd).toBe('reachable');
      expect(nodes.nodes.map((x) => x.id)).toEqual(['t1', 'tc']);
    } finally {
      for (const p of procs.splice(0)) if (p.exitCode === null) p.kill('SIGKILL');
      await secure.destroy();
    }
  });
});

describe('etcd with authentication on', () => {
  it('works with --etcd-user and MERIDIAN_ETCD_PASSWORD, and refuses clearly without them', async () => {
    const authed = await startEtcd();
    try {
      const ctl = (args: string[]) =>
        new Promise<string>((resolve, reject) => {
          const c = spawn('etcdctl', ['--endpoints', authed.url, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ETCDCTL_API: '3' } });
          let out = '';
          c.stdout!.on('data', (d: Buffer) => (out += d.toString()));
          c.stderr!.on('data', (d: Buffer) => (out += d.toString()));
          c.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`etcdctl ${args.join(' ')}: ${out}`))));
        });
      await ctl(['user', 'add', 'root:rootpw', '--interactive=false']);
      await ctl(['user', 'add', 'meridian:s3cret-pw', '--interactive=false']);
      await ctl(['role', 'add', 'meridian']);
      await ctl(['role', 'grant-permission', 'meridian', '--prefix=true', 'readwrite', '/meridian/']);
      await ctl(['user', 'grant-role', 'meridian', 'meridian']);
      await ctl(['auth', 'enable']);

      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-auth-'));
      dirs.push(dir);
      const port = await freePort();
      await startTargets(port);
      fs.writeFileSync(path.join(dir, 'cl.test.yaml'), zoneText(port));
      const anonymous = await meridian(['cluster', 'import', '--etcd', authed.url, '--zones', dir]);
      expect(anonymous.code).toBe(1);
      expect(anonymous.out).toMatch(/MRD_ERR_ETCD/);
      const wrong = await meridian(['cluster', 'import', '--etcd', authed.url, '--etcd-user', 'meridian', '--zones', dir], { MERIDIAN_ETCD_PASSWORD: 'nope' });
      expect(wrong.code).toBe(1);
      expect(wrong.out).toMatch(/authenticate.*(invalid|failed)/i);
      const missing = await meridian(['cluster', 'import', '--etcd', authed.url, '--etcd-user', 'meridian', '--zones', dir]);
      expect(missing.code).toBe(2);
      const ok = await meridian(['cluster', 'import', '--etcd', authed.url, '--etcd-user', 'meridian', '--zones', dir], {
        MERIDIAN_ETCD_PASSWORD: 's3cret-pw',
      });
      expect(ok.out).toContain('imported cl.test.');

      const n = await spawnMeridian(['--etcd', authed.url, '--etcd-user', 'meridian', '--node-id', 'a1', '--region', 'eu', '--lease-ttl', String(LEASE)], {
        MERIDIAN_ETCD_PASSWORD: 's3cret-pw',
      });
      procs.push(n.child);
      expect(await answer(n)).toBe('127.0.0.31 127.0.0.32');
      const w = await fetch(api(n, '/v1/zones/cl.test/records'), {
        method: 'POST',
        headers: { ...auth(n), 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'auth', type: 'A', value: '198.51.100.77' }),
      });
      expect(w.status).toBe(201);
      // The write went through etcd (read back with etcdctl as the user), and the watch works with auth.
      expect(await ctl(['--user', 'meridian:s3cret-pw', 'get', '/meridian/zones/cl.test', '--print-value-only'])).toContain('198.51.100.77');
      await ctl(['--user', 'meridian:s3cret-pw', 'put', '--', '/meridian/latency', '- { from: 203.0.113.0/24, rtt_ms: { eu: 200, us: 10 } }']);
      await waitFor(
        async () =>
          ((await ask(n.dnsPort, 'near.cl.test', 'A', { ecs: { family: 1, sourcePrefix: 24, address: '203.0.113.0' } })).answers ?? []).some(
            (a) => a.data === '127.0.0.33',
          ),
        5_000,
        50,
      );
      expect((await json<Nodes>(n, '/v1/nodes')).active_checkers['eu']?.id).toBe('a1');
    } finally {
      for (const p of procs.splice(0)) if (p.exitCode === null) p.kill('SIGKILL');
      await authed.destroy();
    }
  });
});
