/**
 * Health checks end to end: real HTTP targets on loopback addresses, real `meridian` processes
 * (a serving node and standalone checkers in three regions), and `dig` through the running
 * server. Nothing is mocked; intervals are 1 s so the whole file runs in well under a minute.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { dig, freePort, repoRoot, spawnMeridian, waitFor, type MeridianProcess } from '../support/tools.js';
import { bearer, localToken } from '../support/api.js';
import { Target } from '../support/target.js';

function zoneText(port: number, overrideAddress?: string, staleAfter = '3s'): string {
  return `
zone: hc.test
soa: { mname: ns1, rname: hostmaster, serial: 1, refresh: 1h, retry: 10m, expire: 1w, minimum: 5 }
ns: [ns1]
records:
  - { name: ns1, type: A, value: 192.0.2.53 }
checks:
  - id: web
    type: http
    path: /health
    port: ${port}
    body: ok
    interval: 1s
    timeout: 500ms
    rise: 2
    fall: 2
    stale_after: ${staleAfter}
${overrideAddress ? `    address: ${overrideAddress}\n` : ''}regions:
  - { id: primary, location: { lat: 50, lon: 8 }, country: DE }
  - { id: backup, location: { lat: 39, lon: -77 }, country: US }
pools:
  - id: first
    check: web
    endpoints:
      - { id: a, address: 127.0.0.21, region: primary }
      - { id: b, address: 127.0.0.22, region: primary }
  - id: second
    check: web
    endpoints:
      - { id: c, address: 127.0.0.23, region: backup }
policies:
  - name: app
    type: A
    ttl: 1
    policy: { failover: { tiers: [ { pool: first }, { pool: second } ] } }
`;
}

const procs: ChildProcess[] = [];
const targets: Target[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) if (p.exitCode === null) p.kill('SIGKILL');
  for (const t of targets.splice(0)) await t.stop();
});
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function zonesDir(text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-hc-'));
  dirs.push(dir);
  fs.writeFileSync(path.join(dir, 'hc.test.yaml'), text);
  return dir;
}

async function startTargets(port: number): Promise<Target[]> {
  const ts = ['127.0.0.21', '127.0.0.22', '127.0.0.23'].map((h) => new Target(h, port));
  for (const t of ts) await t.start();
  targets.push(...ts);
  return ts;
}

async function answer(node: MeridianProcess): Promise<string> {
  return (await dig(node.dnsPort, ['app.hc.test', 'A', '+short'])).trim().split('\n').sort().join(' ');
}

async function healthOf(
  node: MeridianProcess,
): Promise<{ endpoint: string; state: string; votes: { checker: string; up: boolean; fresh: boolean; reason: string; rtt_ms: number; age_ms: number }[] }[]> {
  const res = await fetch(`http://127.0.0.1:${node.adminPort}/v1/health`);
  return ((await res.json()) as { endpoints: never[] }).endpoints;
}

function spawnChecker(region: string, zones: string, node: MeridianProcess): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [path.join(repoRoot, 'dist/main.js'), 'checker', '--region', region, '--zones', zones, '--node', `http://127.0.0.1:${node.adminPort}`],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
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

async function serve(zones: string, args: string[] = []): Promise<MeridianProcess> {
  const node = await spawnMeridian(['--zones', zones, ...args]);
  procs.push(node.child);
  return node;
}

describe('a failover record follows real health checks (dig through the running server)', () => {
  it('moves to the second tier when the first tier dies, and back after rise', async () => {
    const port = await freePort();
    const [a, b] = await startTargets(port);
    const node = await serve(zonesDir(zoneText(port)), ['--region', 'primary']);
    // Wait for the first verdicts (until then every endpoint is unknown, which counts as up).
    await waitFor(async () => (await healthOf(node)).every((e) => e.state === 'up'), 10_000, 200);
    expect(await answer(node)).toBe('127.0.0.21 127.0.0.22');

    // One endpoint returns 500: it leaves the answer after `fall` (2) checks.
    a!.status = 500;
    await waitFor(async () => (await answer(node)) === '127.0.0.22', 10_000, 200);
    const view = await healthOf(node);
    expect(view.find((e) => e.endpoint === 'first/a')).toMatchObject({
      state: 'down',
      votes: [expect.objectContaining({ checker: 'primary', reason: 'status 500' })],
    });

    // The whole first tier dies (server stopped): failover to the second tier.
    await b!.stop();
    await waitFor(async () => (await answer(node)) === '127.0.0.23', 10_000, 200);

    // Recovery: both come back; after `rise` (2) good checks the first tier answers again.
    a!.status = 200;
    await b!.start();
    await waitFor(async () => (await answer(node)) === '127.0.0.21 127.0.0.22', 10_000, 200);

    // Every change was one structured log line.
    const changes = node.logs
      .join('\n')
      .split('\n')
      .filter((l) => l.includes('"endpoint health changed"'))
      .map((l) => JSON.parse(l) as { endpoint: string; from: string; to: string });
    expect(changes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ endpoint: 'first/a', from: 'up', to: 'down' }),
        expect.objectContaining({ endpoint: 'first/b', from: 'up', to: 'down' }),
        expect.objectContaining({ endpoint: 'first/a', from: 'down', to: 'up' }),
      ]),
    );
  }, 60_000);
});

describe('quorum across three checker regions', () => {
  it("one checker with a broken view is outvoted; a killed checker's votes go stale", async () => {
    const port = await freePort();
    await startTargets(port);
    const good = zonesDir(zoneText(port));
    // The third checker's network is "broken": it probes a black hole (nothing listens there).
    const broken = zonesDir(zoneText(port, '127.0.0.99'));
    const node = await serve(good, ['--no-checks']);
    const r1 = await spawnChecker('eu', good, node);
    await spawnChecker('us', good, node);
    await spawnChecker('ap', broken, node);

    // All three vote on both endpoints of the first tier; the broken one says down, the quorum
    // (majority) says up. (Waiting on first/a alone raced first/b's votes.)
    const first = await waitFor(
      async () => {
        const h = await healthOf(node);
        const judged = ['first/a', 'first/b'].map((ep) => h.find((e) => e.endpoint === ep));
        return judged.every((v) => v && v.votes.length === 3 && v.votes.every((x) => x.fresh) && v.state === 'up') ? judged[0] : null;
      },
      15_000,
      200,
    );
    expect(first.votes.find((v) => v.checker === 'ap')).toMatchObject({ up: false });
    // The checker sends `rttMs` this release (health/remote.ts, for nodes of the previous release); the node shows both names and each vote's age.
    for (const v of first.votes) expect(v).toEqual(expect.objectContaining({ rtt_ms: expect.any(Number), age_ms: expect.any(Number) }));
    expect(first.votes.filter((v) => v.up)).toHaveLength(2);
    expect(await answer(node)).toBe('127.0.0.21 127.0.0.22');

    // Kill a good checker: after stale_after (3 s) its vote stops counting; 1 up of 2 fresh
    // is not a majority, so the first tier is judged down and the answer fails over.
    r1.kill('SIGKILL');
    const after = await waitFor(
      async () => {
        const v = (await healthOf(node)).find((e) => e.endpoint === 'first/a');
        return v && v.votes.find((x) => x.checker === 'eu')?.fresh === false && v.state === 'down' ? v : null;
      },
      15_000,
      200,
    );
    expect(after.votes.filter((v) => v.fresh)).toHaveLength(2);
    // Every endpoint is now judged down the same way (1 up of 2 fresh), so the record fails
    // open (on_all_down: serve_all) rather than answering nothing.
    await waitFor(async () => (await healthOf(node)).every((e) => e.state === 'down'), 10_000, 200);
    expect(await answer(node)).toBe('127.0.0.21 127.0.0.22 127.0.0.23');
  }, 60_000);
});

describe('warm start from the state directory', () => {
  it('a restart keeps fresh verdicts; votes older than stale_after count as unknown', async () => {
    const port = await freePort();
    const [a] = await startTargets(port);
    a!.status = 500;
    // stale_after longer than a restart can take on a loaded machine: the saved votes must still
    // be fresh when the restarted node reads them (they are aged by hand below).
    const zones = zonesDir(zoneText(port, undefined, '30s'));
    const state = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-state-'));
    dirs.push(state);
    let node = await serve(zones, ['--region', 'primary', '--state', state]);
    await waitFor(async () => (await answer(node)) === '127.0.0.22', 10_000, 200);
    node.child.kill('SIGTERM');
    expect(await node.exited).toBe(0);
    expect(fs.existsSync(path.join(state, 'health.json'))).toBe(true);

    // Restart without running checks: the saved verdicts answer at once.
    node = await serve(zones, ['--no-checks', '--state', state]);
    expect(await answer(node)).toBe('127.0.0.22');
    expect((await healthOf(node)).find((e) => e.endpoint === 'first/a')?.state).toBe('down');
    node.child.kill('SIGTERM');
    await node.exited;

    // Age the saved votes past stale_after: after a restart they count for nothing.
    const saved = JSON.parse(fs.readFileSync(path.join(state, 'health.json'), 'utf8')) as { votes: { at: number }[] };
    for (const v of saved.votes) v.at -= 60_000;
    fs.writeFileSync(path.join(state, 'health.json'), JSON.stringify(saved));
    node = await serve(zones, ['--no-checks', '--state', state]);
    expect((await healthOf(node)).find((e) => e.endpoint === 'first/a')?.state).toBe('unknown');
    expect(await answer(node)).toBe('127.0.0.21 127.0.0.22'); // unknown counts as up
  }, 60_000);
});

describe('vote API', () => {
  it('rejects a malformed vote batch with problem+json and changes nothing', async () => {
    const port = await freePort();
    const node = await serve(zonesDir(zoneText(port)), ['--no-checks']);
    const res = await fetch(`http://127.0.0.1:${node.adminPort}/v1/health/votes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(localToken(node.tokenFile)) },
      body: JSON.stringify({ checker: 'x', votes: [{ endpoint: 'first/a', up: 'yes' }] }),
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect((await healthOf(node)).every((e) => e.votes.length === 0)).toBe(true);
  }, 30_000);

  it('GET /v1/regions derives region status from endpoint health', async () => {
    const port = await freePort();
    const node = await serve(zonesDir(zoneText(port)), ['--no-checks']);
    const vote = (endpoint: string, checker: string, up: boolean) => ({ endpoint, checker, up, rtt_ms: 1, reason: up ? 'ok' : 'refused', at: Date.now() });
    const post = (checker: string, votes: unknown[]) =>
      fetch(`http://127.0.0.1:${node.adminPort}/v1/health/votes`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...bearer(localToken(node.tokenFile)) },
        body: JSON.stringify({ checker, votes }),
      });
    // Checks configured but no vote yet: nobody has looked, so no region claims to be healthy.
    const before = (await (await fetch(`http://127.0.0.1:${node.adminPort}/v1/regions`)).json()) as {
      regions: { id: string; status: string; members: { status: string; check: string | null }[] }[];
    };
    for (const r of before.regions) {
      expect(r.status, r.id).toBe('unchecked');
      for (const m of r.members) expect(m).toMatchObject({ status: 'unknown', check: 'web' });
    }
    expect((await post('eu', [vote('first/a', 'eu', false), vote('first/b', 'eu', true), vote('second/c', 'eu', false)])).status).toBe(202);
    const { regions } = (await (await fetch(`http://127.0.0.1:${node.adminPort}/v1/regions`)).json()) as {
      regions: { id: string; status: string; endpoints: Record<string, number>; members: { votes: unknown[] }[] }[];
    };
    const byId = Object.fromEntries(regions.map((r) => [r.id, r]));
    expect(byId['primary']).toMatchObject({ status: 'degraded', endpoints: { total: 2, up: 1, down: 1 } });
    expect(byId['backup']).toMatchObject({ status: 'down', endpoints: { total: 1, down: 1 } });
    expect(byId['primary']!.members[0]!.votes).toHaveLength(1);
    expect(byId['primary']!.members[0]!.votes[0]).toMatchObject({ checker: 'eu', rtt_ms: 1, age_ms: expect.any(Number) });
  }, 30_000);

  it('POST /v1/health/votes takes the old name rttMs (checkers of the previous release); answers carry both names, equal, until the next minor release', async () => {
    const port = await freePort();
    const node = await serve(zonesDir(zoneText(port)), ['--no-checks']);
    const base = `http://127.0.0.1:${node.adminPort}`;
    const post = (votes: unknown[]) =>
      fetch(`${base}/v1/health/votes`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...bearer(localToken(node.tokenFile)) },
        body: JSON.stringify({ checker: 'eu', votes }),
      });
    const at = Date.now();
    // A vote with neither name is refused, with the new name in the reason, and changes nothing.
    const bad = await post([{ endpoint: 'first/a', checker: 'eu', up: true, reason: 'ok', at }]);
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('rtt_ms');
    expect((await healthOf(node)).every((e) => e.votes.length === 0)).toBe(true);
    // The previous release's body (rttMs) and this one's (rtt_ms).
    expect((await post([{ endpoint: 'first/a', checker: 'eu', up: true, rttMs: 7.5, reason: 'ok', at }])).status).toBe(202);
    expect((await post([{ endpoint: 'first/b', checker: 'eu', up: false, rtt_ms: 12, reason: 'refused', at }])).status).toBe(202);

    type Aliased = { rtt_ms: number; rttMs: number; age_ms: number; ageMs: number };
    const health = (await (await fetch(`${base}/v1/health`)).json()) as {
      endpoints: { endpoint: string; stale_after_ms: number; staleAfterMs: number; votes: Aliased[] }[];
    };
    const a = health.endpoints.find((e) => e.endpoint === 'first/a')!;
    const b = health.endpoints.find((e) => e.endpoint === 'first/b')!;
    expect(a.votes[0]!.rtt_ms).toBe(7.5);
    expect(b.votes[0]!.rtt_ms).toBe(12);
    expect(a.stale_after_ms).toBe(3000);
    expect(a.staleAfterMs).toBe(a.stale_after_ms);
    const regions = (await (await fetch(`${base}/v1/regions`)).json()) as { regions: { members: { endpoint: string; votes: Aliased[] }[] }[] };
    const status = (await (await fetch(`${base}/v1/regions/primary/status`)).json()) as { endpoints_detail: { endpoint: string; votes: Aliased[] }[] };
    const all = [
      ...health.endpoints.flatMap((e) => e.votes),
      ...regions.regions.flatMap((r) => r.members.flatMap((m) => m.votes)),
      ...status.endpoints_detail.flatMap((e) => e.votes),
    ];
    expect(all.length).toBeGreaterThanOrEqual(5);
    for (const v of all) {
      expect(v.rttMs).toBe(v.rtt_ms);
      expect(v.ageMs).toBe(v.age_ms);
    }
  }, 30_000);
});
