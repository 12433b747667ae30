/**
 * Processes that survive their dependencies (issue 12, item 5): real etcd (stopped with SIGKILL
 * and restarted on the same ports, test/support/etcd.ts), real `meridian checker` and `meridian
 * serve` processes, real loopback HTTP targets. A checker that loses etcd or its node must stay
 * up, say so once, and vote again when the dependency is back; it exits non-zero only for a
 * configuration it cannot run; one-shot `meridian cluster` commands fail clearly instead of
 * hanging or exiting 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dig, freePort, repoRoot, spawnMeridian, waitFor, type MeridianProcess } from '../support/tools.js';
import { Target } from '../support/target.js';
import { hasEtcd, startEtcd, type TestEtcd } from '../support/etcd.js';
import { EtcdClient } from '../../src/cluster/etcd-client.js';
import { silentLogger } from '../../src/log.js';

const LEASE = 2;
/** How long etcd stays down in the outage cases (the issue's "stopped for 20 s"). */
const OUTAGE_MS = 20_000;

function zoneText(port: number | null): string {
  return `
zone: sv.test
soa: { mname: ns1, rname: hostmaster, serial: 1, refresh: 1h, retry: 10m, expire: 1w, minimum: 5 }
ns: [ns1]
records:
  - { name: ns1, type: A, value: 192.0.2.53 }
${port === null ? '' : `checks:\n  - { id: web, type: http, path: /health, port: ${port}, body: ok, interval: 1s, timeout: 500ms, rise: 1, fall: 1, stale_after: 3s }\n`}regions:
  - { id: eu, location: { lat: 50, lon: 8 }, country: DE }
  - { id: us, location: { lat: 39, lon: -77 }, country: US }
  - { id: ap, location: { lat: 1.3, lon: 103.8 }, country: SG }
pools:
  - id: web
${port === null ? '' : '    check: web\n'}    endpoints:
      - { id: a, address: 127.0.0.41, region: eu }
      - { id: b, address: 127.0.0.42, region: us }
policies:
  - name: app
    type: A
    ttl: 1
    policy: { weighted: { pool: web } }
`;
}

let etcd: TestEtcd;
let kv: EtcdClient;
const procs: ChildProcess[] = [];
const targets: Target[] = [];
const dirs: string[] = [];
let run = 0;

beforeAll(async () => {
  if (!hasEtcd) throw new Error('etcd-server is not installed (.ci/run installs it)');
  etcd = await startEtcd();
  kv = new EtcdClient({ endpoints: [etcd.url], log: silentLogger() });
}, 30_000);
afterEach(async () => {
  for (const p of procs.splice(0)) if (p.exitCode === null) p.kill('SIGKILL');
  for (const t of targets.splice(0)) await t.stop();
  if (etcd) await etcd.start().catch(() => undefined);
});
afterAll(async () => {
  await kv?.close();
  await etcd?.destroy();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** A meridian process with its output kept line by line. */
interface Proc {
  readonly child: ChildProcess;
  readonly lines: string[];
  readonly exited: Promise<number | null>;
  /** Log lines whose `msg` contains `text`. */
  count(text: string): number;
}

function spawnProc(args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  const child = spawn(process.execPath, [path.join(repoRoot, 'dist/main.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  procs.push(child);
  const lines: string[] = [];
  const collect = (stream: NodeJS.ReadableStream): void => {
    let buf = '';
    stream.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        lines.push(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    });
    stream.on('end', () => buf && lines.push(buf));
  };
  collect(child.stdout!);
  collect(child.stderr!);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const count = (text: string): number =>
    lines.filter((l) => {
      try {
        return String((JSON.parse(l) as { msg?: string }).msg).includes(text);
      } catch {
        return false;
      }
    }).length;
  return { child, lines, exited, count };
}

/** Runs a one-shot meridian command; a command still running after `limitMs` is killed and reported as hung. */
async function oneShot(args: string[], env: NodeJS.ProcessEnv = {}, limitMs = 30_000): Promise<{ code: number | null; out: string; hung: boolean }> {
  const p = spawnProc(args, env);
  let hung = false;
  const timer = setTimeout(() => {
    hung = true;
    p.child.kill('SIGKILL');
  }, limitMs);
  const code = await p.exited;
  clearTimeout(timer);
  // Let the pipes drain.
  await new Promise((r) => setImmediate(r));
  return { code, out: p.lines.join('\n'), hung };
}

async function seed(checkPort: number | null): Promise<string> {
  const prefix = `/sv-${process.pid}-${run++}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-sv-'));
  dirs.push(dir);
  fs.writeFileSync(path.join(dir, 'sv.test.yaml'), zoneText(checkPort));
  const r = await oneShot(['cluster', 'import', '--etcd', etcd.url, '--etcd-prefix', prefix, '--zones', dir]);
  expect(r.out).toContain('imported sv.test.');
  expect(r.code).toBe(0);
  return prefix;
}

async function startTargets(port: number): Promise<void> {
  for (const host of ['127.0.0.41', '127.0.0.42']) {
    const t = new Target(host, port);
    await t.start();
    targets.push(t);
  }
}

function checker(prefix: string, id: string, region: string): Proc {
  return spawnProc(['checker', '--etcd', etcd.url, '--etcd-prefix', prefix, '--node-id', id, '--region', region, '--lease-ttl', String(LEASE)]);
}

type StoredVote = { endpoint?: string; up: boolean; at: number; by: string };

/** The votes a region has in etcd right now. */
async function votesIn(prefix: string, region: string): Promise<(StoredVote & { key: string })[]> {
  const { kvs } = await kv.range(`${prefix}/votes/${region}/`, { prefix: true });
  return kvs.map((k) => ({ key: k.key, ...(JSON.parse(k.value) as StoredVote) }));
}

/** Who holds a region's checker election in etcd. */
async function holder(prefix: string, region: string): Promise<string | undefined> {
  const k = await kv.get(`${prefix}/checkers/${region}`);
  return k ? (JSON.parse(k.value) as { id: string }).id : undefined;
}

/** Waits until `region` has a vote on both endpoints cast by `by` after `since`. */
async function votesAfter(prefix: string, region: string, by: string, since: number, timeoutMs = 30_000): Promise<StoredVote[]> {
  return waitFor(
    async () => {
      const vs = (await votesIn(prefix, region)).filter((v) => v.by === by && v.at > since);
      return vs.length === 2 ? vs : null;
    },
    timeoutMs,
    200,
  );
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('checker --etcd while etcd goes away (real etcd, real processes)', () => {
  it('with and without checks: stays up through a 20 s etcd outage, logs it once each way, and campaigns and votes again after; one started during the outage joins when etcd is back', async () => {
    const port = await freePort();
    await startTargets(port);
    const withChecks = await seed(port);
    const noChecks = await seed(null);

    const ap = checker(withChecks, 'chk-ap', 'ap');
    const bare = checker(noChecks, 'chk-bare', 'ap');
    await waitFor(async () => (await votesIn(withChecks, 'ap')).filter((v) => v.by === 'chk-ap').length === 2, 15_000, 200);
    await waitFor(async () => (await holder(noChecks, 'ap')) === 'chk-bare', 15_000, 200);
    expect((await votesIn(withChecks, 'ap')).every((v) => v.up)).toBe(true);

    await etcd.stop();
    // Both notice, and neither exits (issue 12: they exited with status 0 within 5 s).
    await waitFor(async () => ap.count('etcd unreachable') === 1 && bare.count('etcd unreachable') === 1, 15_000, 200);
    // A checker that starts while etcd is down waits instead of exiting.
    const late = checker(withChecks, 'chk-us', 'us');
    await sleep(OUTAGE_MS);
    for (const p of [ap, bare, late]) expect(p.child.exitCode, p.lines.join('\n')).toBeNull();
    expect(ap.count('etcd unreachable')).toBe(1);
    expect(bare.count('etcd unreachable')).toBe(1);
    // The leader could not renew for a whole lease: it stood down by itself.
    expect(ap.count('standing by')).toBeGreaterThanOrEqual(1);

    const back = Date.now();
    await etcd.start();
    // Votes from both endpoints, cast after etcd came back, by the same process; and the
    // late checker votes for its region too.
    const fresh = await votesAfter(withChecks, 'ap', 'chk-ap', back);
    expect(fresh.every((v) => v.up)).toBe(true);
    await votesAfter(withChecks, 'us', 'chk-us', back);
    await waitFor(async () => (await holder(withChecks, 'ap')) === 'chk-ap' && (await holder(noChecks, 'ap')) === 'chk-bare', 15_000, 200);
    // Membership records are back as well.
    await waitFor(
      async () => (await kv.get(`${noChecks}/nodes/chk-bare`)) !== undefined && (await kv.get(`${withChecks}/nodes/chk-us`)) !== undefined,
      10_000,
      200,
    );
    for (const p of [ap, bare]) {
      expect(p.count('etcd unreachable'), p.lines.join('\n')).toBe(1);
      expect(p.count('etcd reachable again'), p.lines.join('\n')).toBe(1);
    }
    // Still running; SIGTERM stops it cleanly with status 0.
    ap.child.kill('SIGTERM');
    expect(await ap.exited).toBe(0);
  }, 120_000);
});

describe('a serving node while etcd goes away', () => {
  it('keeps answering DNS, and its watch, membership, votes and elections resume when etcd is back', async () => {
    const port = await freePort();
    await startTargets(port);
    const prefix = await seed(port);
    const node = await spawnMeridian(['--etcd', etcd.url, '--etcd-prefix', prefix, '--node-id', 'n-eu', '--region', 'eu', '--lease-ttl', String(LEASE)]);
    procs.push(node.child);
    const ap = checker(prefix, 'chk-ap', 'ap');
    const api = (p: string): string => `http://127.0.0.1:${node.adminPort}${p}`;
    type Health = { endpoints: { endpoint: string; votes: { checker: string; by?: string; fresh: boolean; at?: number }[] }[] };
    const freshBy = async (): Promise<string> => {
      const h = (await (await fetch(api('/v1/health'))).json()) as Health;
      const a = h.endpoints.find((e) => e.endpoint === 'web/a');
      return (a?.votes ?? [])
        .filter((v) => v.fresh)
        .map((v) => `${v.checker}:${v.by}`)
        .sort()
        .join(' ');
    };
    await waitFor(async () => (await freshBy()) === 'ap:chk-ap eu:n-eu', 15_000, 200);

    await etcd.stop();
    await waitFor(async () => ((await (await fetch(api('/readyz'))).json()) as { status: string }).status === 'degraded', 15_000, 200);
    await sleep(OUTAGE_MS / 2);
    expect(node.child.exitCode).toBeNull();
    expect(ap.child.exitCode).toBeNull();
    // DNS is answered all along, from the last snapshot (a weighted pick: one of the pool).
    for (let i = 0; i < 5; i++) expect(['127.0.0.41', '127.0.0.42']).toContain((await dig(node.dnsPort, ['app.sv.test', 'A', '+short'])).trim());
    // The node went on checking from its own region; region ap's votes aged out.
    expect(await freshBy()).toBe('eu:n-eu');

    await etcd.start();
    await waitFor(async () => ((await (await fetch(api('/readyz'))).json()) as { status: string }).status === 'ready', 15_000, 200);
    // Votes through etcd again from both regions, elections held again, members listed again.
    await waitFor(async () => (await freshBy()) === 'ap:chk-ap eu:n-eu', 30_000, 200);
    type Nodes = { active_checkers: Record<string, { id: string }>; nodes: { id: string }[] };
    await waitFor(
      async () => {
        const v = (await (await fetch(api('/v1/nodes'))).json()) as Nodes;
        return (
          v.active_checkers['eu']?.id === 'n-eu' &&
          v.active_checkers['ap']?.id === 'chk-ap' &&
          v.nodes
            .map((n) => n.id)
            .sort()
            .join() === 'chk-ap,n-eu'
        );
      },
      20_000,
      200,
    );
    expect(await holder(prefix, 'eu')).toBe('n-eu');
    // The watch is live again: a change made straight in etcd is served.
    const zone = (await kv.get(`${prefix}/zones/sv.test`))!.value
      .replace('serial: 1,', 'serial: 2,')
      .replace(
        '- { name: ns1, type: A, value: 192.0.2.53 }',
        '- { name: ns1, type: A, value: 192.0.2.53 }\n  - { name: after, type: A, value: 198.51.100.20 }',
      );
    await kv.put(`${prefix}/zones/sv.test`, zone);
    await waitFor(async () => (await dig(node.dnsPort, ['after.sv.test', 'A', '+short'])).trim() === '198.51.100.20', 10_000, 200);
    expect(node.logs.filter((l) => l.includes('"msg":"etcd unreachable')).length).toBe(1);
  }, 120_000);
});

describe('checker --node while the node goes away', () => {
  it('keeps its votes, retries, logs it once each way, and resumes posting to the restarted node', async () => {
    const port = await freePort();
    await startTargets(port);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-svn-'));
    dirs.push(dir);
    fs.writeFileSync(path.join(dir, 'sv.test.yaml'), zoneText(port));
    const adminPort = await freePort();
    const startNode = async (): Promise<MeridianProcess> => {
      const n = await spawnMeridian(['--zones', dir, '--region', 'eu', '--admin', `127.0.0.1:${adminPort}`]);
      procs.push(n.child);
      return n;
    };
    let node = await startNode();
    const us = spawnProc(['checker', '--node', `http://127.0.0.1:${adminPort}`, '--zones', dir, '--region', 'us']);
    type Health = { endpoints: { endpoint: string; votes: { checker: string; fresh: boolean }[] }[] };
    const usFresh = async (): Promise<boolean> => {
      const h = (await (await fetch(`http://127.0.0.1:${adminPort}/v1/health`)).json()) as Health;
      return h.endpoints.filter((e) => e.votes.some((v) => v.checker === 'us' && v.fresh)).length === 2;
    };
    await waitFor(usFresh, 15_000, 200);

    node.child.kill('SIGKILL');
    await node.exited;
    await waitFor(async () => us.count('node unreachable') === 1, 15_000, 200);
    await sleep(8_000);
    expect(us.child.exitCode, us.lines.join('\n')).toBeNull();
    expect(us.count('node unreachable')).toBe(1);

    node = await startNode();
    // The restarted node has no votes of its own from region us until the checker sends them.
    await waitFor(usFresh, 20_000, 200);
    expect(us.count('node unreachable')).toBe(1);
    expect(us.count('node reachable again')).toBe(1);
  }, 90_000);
});

describe('configurations a checker cannot run', () => {
  it('an unreadable certificate file: exit 2 with the reason', async () => {
    const r = await oneShot([
      'checker',
      '--etcd',
      etcd.url,
      '--region',
      'ap',
      '--etcd-cert',
      '/nonexistent/client.pem',
      '--etcd-key',
      '/nonexistent/client.key',
    ]);
    expect(r.hung).toBe(false);
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/--etcd-cert: cannot read \/nonexistent\/client\.pem/);
  });

  it('etcd refuses the credentials (wrong password, no user): exit 1 with MRD_ERR_ETCD_AUTH, not a silent retry or hang', async () => {
    const authed = await startEtcd();
    try {
      const ctl = (args: string[]) =>
        new Promise<void>((resolve, reject) => {
          const c = spawn('etcdctl', ['--endpoints', authed.url, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ETCDCTL_API: '3' } });
          let err = '';
          c.stderr!.on('data', (d: Buffer) => (err += d.toString()));
          c.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`etcdctl ${args.join(' ')}: ${err}`))));
        });
      await ctl(['user', 'add', 'root:rootpw', '--interactive=false']);
      await ctl(['user', 'add', 'meridian:s3cret-pw', '--interactive=false']);
      await ctl(['auth', 'enable']);
      const wrong = await oneShot(['checker', '--etcd', authed.url, '--etcd-user', 'meridian', '--region', 'ap'], { MERIDIAN_ETCD_PASSWORD: 'nope' });
      expect(wrong.hung).toBe(false);
      expect(wrong.code).toBe(1);
      expect(wrong.out).toMatch(/etcd refuses this process's credentials: user "meridian".*authentication failed.*\(MRD_ERR_ETCD_AUTH\)/);
      const anonymous = await oneShot(['checker', '--etcd', authed.url, '--region', 'ap']);
      expect(anonymous.hung).toBe(false);
      expect(anonymous.code).toBe(1);
      expect(anonymous.out).toMatch(/no --etcd-user given.*\(MRD_ERR_ETCD_AUTH\)/);
    } finally {
      await authed.destroy();
    }
  }, 60_000);

  it('checker --node with a token the node refuses: exit 1 with MRD_ERR_CHECKER_REFUSED', async () => {
    const port = await freePort();
    await startTargets(port);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-svt-'));
    dirs.push(dir);
    fs.writeFileSync(path.join(dir, 'sv.test.yaml'), zoneText(port));
    fs.writeFileSync(path.join(dir, '..', `${path.basename(dir)}.tokens.yaml`), '- { name: ops, role: write, token: right-token-0123456789 }\n');
    const tokens = path.join(dir, '..', `${path.basename(dir)}.tokens.yaml`);
    dirs.push(tokens);
    const node = await spawnMeridian(['--zones', dir, '--region', 'eu', '--tokens', tokens]);
    procs.push(node.child);
    const r = await oneShot(['checker', '--node', `http://127.0.0.1:${node.adminPort}`, '--zones', dir, '--region', 'us', '--token', 'wrong-token-0123456789']);
    expect(r.hung).toBe(false);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/the node refuses this checker's votes: HTTP 401.*\(MRD_ERR_CHECKER_REFUSED\)/);
  }, 60_000);
});

describe('one-shot cluster commands against an etcd that is not there', () => {
  it('cluster nodes, export and import against a stopped etcd exit 1 with the reason', async () => {
    const prefix = await seed(null);
    await etcd.stop();
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-svx-'));
    const zones = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-svz-'));
    dirs.push(out, zones);
    fs.writeFileSync(path.join(zones, 'sv.test.yaml'), zoneText(null));
    for (const args of [['nodes'], ['export', '--zones', out], ['import', '--zones', zones]]) {
      const r = await oneShot(['cluster', ...args, '--etcd', etcd.url, '--etcd-prefix', prefix]);
      expect(r.hung, args.join(' ')).toBe(false);
      expect(r.code, `${args.join(' ')}: ${r.out}`).toBe(1);
      expect(r.out).toMatch(/meridian cluster: etcd: unreachable \(http:\/\/127\.0\.0\.1:\d+\): .*ECONNREFUSED.*\(MRD_ERR_ETCD\)/);
    }
    expect(fs.readdirSync(out)).toEqual([]);
  }, 60_000);

  it('cluster nodes against an endpoint that accepts connections and never answers: exits 1 at its deadline, not a hang', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((s) => sockets.push(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
    try {
      const url = `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
      const r = await oneShot(['cluster', 'nodes', '--etcd', url]);
      expect(r.hung).toBe(false);
      expect(r.code).toBe(1);
      expect(r.out).toMatch(/meridian cluster: etcd: unreachable.*(timeout|aborted).*\(MRD_ERR_ETCD\)/i);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  }, 60_000);
});
