/**
 * Failover drills on a running node: a preview that changes nothing, a live drill whose report
 * shows convergence, no empty answers, the traffic coming back and predictions that held, a drill
 * refused by a safety rule, an abort, and a drill whose node is killed mid-way still lifting its
 * drain at the expiry.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ask } from '../support/dns-client.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { repoRoot, spawnMeridian, waitFor, type MeridianProcess } from '../support/tools.js';
import { bearer, localToken } from '../support/api.js';

const ZONE = `
zone: drill.test
soa: { mname: ns1, rname: hostmaster, serial: 1, refresh: 1h, retry: 10m, expire: 1w, minimum: 5 }
ns: [ns1]
records: [ { name: ns1, type: A, value: 192.0.2.53 } ]
regions:
  - { id: eu, location: { lat: 50.1, lon: 8.7 }, country: DE }
  - { id: us, location: { lat: 39.0, lon: -77.5 }, country: US }
pools:
  - { id: eu, endpoints: [ { id: a, address: 10.1.0.1, region: eu }, { id: b, address: 10.1.0.2, region: eu } ] }
  - { id: us, endpoints: [ { id: a, address: 10.2.0.1, region: us } ] }
  - { id: only-eu, endpoints: [ { id: a, address: 10.3.0.1, region: eu } ] }
policies:
  - name: www
    type: A
    ttl: 1
    policy:
      latency:
        regions:
          - { region: eu, policy: { pool: eu } }
          - { region: us, policy: { pool: us } }
`;

const procs: MeridianProcess[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const p of procs.splice(0)) if (p.child.exitCode === null) p.child.kill('SIGKILL');
});
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

async function node(
  zone = ZONE,
  state?: string,
  extra: string[] = [],
): Promise<{ p: MeridianProcess; api: (m: string, u: string, b?: unknown) => Promise<{ status: number; json: any }> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-drill-'));
  dirs.push(dir);
  fs.writeFileSync(path.join(dir, 'drill.test.yaml'), zone);
  const p = await spawnMeridian(['--zones', dir, '--no-checks', ...(state ? ['--state', state] : []), ...extra]);
  procs.push(p);
  // No token configured: writes carry the token the node made for itself.
  const auth = bearer(localToken(p.tokenFile));
  const api = async (method: string, url: string, body?: unknown) => {
    const res = await fetch(`http://127.0.0.1:${p.adminPort}${url}`, {
      method,
      headers: { ...auth, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, json: await res.json().catch(() => undefined) };
  };
  return { p, api };
}

const DE = { family: 1 as const, sourcePrefix: 24, address: '53.128.0.0' };

describe('drills', () => {
  it('preview: predicts where European clients go and changes nothing', async () => {
    const { p, api } = await node();
    const r = await api('POST', '/v1/drills', { region: 'eu', mode: 'preview' });
    expect(r.status).toBe(200);
    const www = r.json.records.find((x: { name: string }) => x.name === 'www.drill.test.');
    const de = www.vantage.find((v: { country: string }) => v.country === 'DE');
    // Candidate answers with their shares: the pool's two addresses as one set, then the US one.
    expect(de).toMatchObject({
      before: [{ answer: ['10.1.0.1', '10.1.0.2'], share: 1, regions: ['eu'] }],
      after: [{ answer: ['10.2.0.1'], share: 1, regions: ['us'] }],
      changed: true,
      moved_share: 1,
      moves_to: [{ answer: ['10.2.0.1'], share: 1, regions: ['us'] }],
      to_regions: ['us'],
    });
    expect(r.json.passed).toBe(true);
    expect(r.json.capacity.find((c: { region: string }) => c.region === 'eu')).toMatchObject({
      usable_before: 3,
      usable_after: 0,
      weight_before: 3,
      weight_after: 0,
    });
    expect(r.json.safety.every((c: { pass: boolean }) => c.pass)).toBe(true);
    // Nothing changed.
    expect((await ask(p.dnsPort, 'www.drill.test', 'A', { ecs: DE })).answers?.map((a) => a.data).sort()).toEqual(['10.1.0.1', '10.1.0.2']);
    expect((await api('GET', '/v1/overrides')).json.overrides).toEqual([]);
  });

  it('live: drains, converges, never leaves a client without an answer, and restores', async () => {
    const { p, api } = await node();
    const start = await api('POST', '/v1/drills', { region: 'eu', mode: 'live', duration_s: 2, reason: 'quarterly drill' });
    expect(start.status).toBe(202);
    expect((await ask(p.dnsPort, 'www.drill.test', 'A', { ecs: DE })).answers?.map((a) => a.data)).toEqual(['10.2.0.1']);
    const report = await waitFor(
      async () => {
        const r = (await api('GET', `/v1/drills/${start.json.id}`)).json;
        return r.state === 'done' ? r : null;
      },
      15_000,
      200,
    );
    expect(report.nodes[0].drained_after_ms).toBeLessThan(1000);
    expect(report.nodes[0].restored_after_ms).toBeLessThan(1000);
    expect(report.empty_or_servfail).toBe(0);
    for (const c of report.checks) expect(c.pass, `${c.rule}: ${c.detail}`).toBe(true);
    expect(report.observations.length).toBeGreaterThan(0);
    expect(report.observations.every((o: { matches_prediction: boolean }) => o.matches_prediction)).toBe(true);
    expect(report.violations).toEqual([]);
    expect(report.observations[0]).toMatchObject({ predicted: [{ answer: ['10.2.0.1'], share: 1 }], observed: [{ answer: ['10.2.0.1'] }] });
    expect(report.timeline.map((e: { event: string }) => e.event)).toEqual(['drained', 'drain lifted', 'finished']);
    expect((await ask(p.dnsPort, 'www.drill.test', 'A', { ecs: DE })).answers?.map((a) => a.data).sort()).toEqual(['10.1.0.1', '10.1.0.2']);
    const audit = (await api('GET', '/v1/audit')).json.entries.map((e: { action: string }) => e.action);
    expect(audit).toEqual(expect.arrayContaining(['drill.start', 'drill.done']));
  }, 30_000);

  it('live, with response rate limiting on its own address: its questions carry a server cookie and are never held back', async () => {
    // A peer sees a node's questions from the node's address, not loopback; here loopback is not
    // exempt and the rate is far below the drill's ten questions a second per record and vantage point.
    const { api } = await node(ZONE, undefined, ['--rrl-rate', '2', '--rrl-exempt', 'none']);
    const start = await api('POST', '/v1/drills', { region: 'eu', mode: 'live', duration_s: 2, reason: 'rate-limited drill' });
    expect(start.status).toBe(202);
    const report = await waitFor(
      async () => {
        const r = (await api('GET', `/v1/drills/${start.json.id}`)).json;
        return r.state === 'done' ? r : null;
      },
      15_000,
      200,
    );
    expect(report.empty_or_servfail).toBe(0);
    for (const c of report.checks) expect(c.pass, `${c.rule}: ${c.detail}`).toBe(true);
    const metrics = await (await fetch(`http://127.0.0.1:${(await api('GET', '/v1/nodes')).json.nodes[0].admin.split(':').pop()}/metrics`)).text();
    expect(metrics).toMatch(/meridian_dns_cookies_total\{verdict="valid"\} [1-9]/);
  }, 30_000);

  it('refuses a drill that would leave a record with nothing usable (409), changing nothing', async () => {
    const zone = ZONE + '  - { name: solo, type: A, on_all_down: serve_none, policy: { pool: only-eu } }\n';
    const { api } = await node(zone);
    const r = await api('POST', '/v1/drills', { region: 'eu', mode: 'live', duration_s: 5 });
    expect(r.status).toBe(409);
    expect(r.json.detail).toContain('solo.drill.test. A');
    expect(r.json.report.state).toBe('refused');
    expect((await api('GET', '/v1/overrides')).json.overrides).toEqual([]);
    expect((await api('POST', '/v1/drills', { region: 'us', mode: 'live', duration_s: 5, min_healthy_regions: 2 })).status).toBe(409);
    expect((await api('POST', '/v1/drills', { region: 'mars', mode: 'preview' })).status).toBe(404);
  });

  it('aborts and restores at once when another outage during the drill would break a rule', async () => {
    const { p, api } = await node();
    const start = await api('POST', '/v1/drills', { region: 'eu', mode: 'live', duration_s: 60, min_healthy_regions: 0 });
    expect(start.status).toBe(202);
    // Now the other region goes down too: www would be left with nothing usable.
    expect((await api('POST', '/v1/overrides', { region: 'us', kind: 'force_down', reason: 'real outage' })).status).toBe(201);
    const report = await waitFor(
      async () => {
        const r = (await api('GET', `/v1/drills/${start.json.id}`)).json;
        return r.state === 'aborted' ? r : null;
      },
      5_000,
      100,
    );
    expect(report.timeline.at(-1)).toMatchObject({ event: 'aborted', detail: expect.stringContaining('www.drill.test. A') });
    // The drill's drain is gone; the real outage's override stays.
    expect((await api('GET', '/v1/overrides')).json.overrides.map((o: { id: string }) => o.id)).toEqual(['region:us']);
    expect((await ask(p.dnsPort, 'www.drill.test', 'A', { ecs: DE })).answers?.map((a) => a.data).sort()).toEqual(['10.1.0.1', '10.1.0.2']);
  });

  it('does not abort for a record that has nothing usable with or without the drill', async () => {
    // `solo` lives only in eu, which an outage takes down during a drill of us: lifting the drill's
    // drain would not give it an answer, so the drill is not to blame and runs on.
    const zone = ZONE + '  - { name: solo, type: A, on_all_down: serve_none, policy: { pool: only-eu } }\n';
    const { api } = await node(zone);
    const start = await api('POST', '/v1/drills', { region: 'us', mode: 'live', duration_s: 60, min_healthy_regions: 0 });
    expect(start.status).toBe(202);
    expect((await api('POST', '/v1/overrides', { endpoint: 'only-eu/a', kind: 'force_down', reason: 'real outage' })).status).toBe(201);
    await new Promise((r) => setTimeout(r, 1_500)); // three rounds of the guard
    expect((await api('GET', `/v1/drills/${start.json.id}`)).json.state).toBe('running');
    // Whereas taking eu's pool down too would leave www with nothing usable because of the drill.
    expect((await api('POST', '/v1/overrides', { region: 'eu', kind: 'force_down', reason: 'real outage' })).status).toBe(201);
    const report = await waitFor(
      async () => {
        const r = (await api('GET', `/v1/drills/${start.json.id}`)).json;
        return r.state === 'aborted' ? r : null;
      },
      5_000,
      100,
    );
    expect(report.timeline.at(-1)).toMatchObject({ event: 'aborted', detail: expect.stringContaining('www.drill.test. A') });
    expect(report.timeline.at(-1).detail).not.toContain('solo');
  });

  it('DELETE aborts and restores at once', async () => {
    const { p, api } = await node();
    const start = await api('POST', '/v1/drills', { region: 'eu', mode: 'live', duration_s: 60 });
    expect((await ask(p.dnsPort, 'www.drill.test', 'A', { ecs: DE })).answers?.map((a) => a.data)).toEqual(['10.2.0.1']);
    const r = await api('DELETE', `/v1/drills/${start.json.id}`);
    expect(r.json.state).toBe('aborted');
    expect((await ask(p.dnsPort, 'www.drill.test', 'A', { ecs: DE })).answers?.map((a) => a.data).sort()).toEqual(['10.1.0.1', '10.1.0.2']);
  });

  it('a node killed mid-drill still lifts the drain at its expiry, and keeps the report', async () => {
    const state = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-drill-state-'));
    dirs.push(state);
    const first = await node(ZONE, state);
    // Long enough for a restart on a loaded machine to land inside the drill.
    const start = await first.api('POST', '/v1/drills', { region: 'eu', mode: 'live', duration_s: 10 });
    expect(start.status).toBe(202);
    first.p.child.kill('SIGKILL');
    await first.p.exited;
    const again = await node(ZONE, state);
    // Restarted within the drill: the saved drain still holds, until its expiry.
    expect((await ask(again.p.dnsPort, 'www.drill.test', 'A', { ecs: DE })).answers?.map((a) => a.data)).toEqual(['10.2.0.1']);
    await waitFor(async () => ((await ask(again.p.dnsPort, 'www.drill.test', 'A', { ecs: DE })).answers?.length === 2 ? true : null), 20_000, 200);
    const report = (await again.api('GET', `/v1/drills/${start.json.id}`)).json;
    expect(report.state).toBe('aborted');
    expect(report.timeline.at(-1).event).toBe('interrupted');
  }, 45_000);

  it('meridian drill preview and run print a readable report', async () => {
    const { p } = await node();
    const drill = (...args: string[]) =>
      promisify(execFile)(process.execPath, [path.join(repoRoot, 'dist/main.js'), 'drill', '--api', `http://127.0.0.1:${p.adminPort}`, ...args]);
    const pv = await drill('preview', '--region', 'eu');
    expect(pv.stdout).toMatch(/^\d+ answers change \(record × vantage point, of 1 policy records from \d+ vantage points; shares exact\)$/m);
    expect(pv.stdout).toMatch(/^www\.drill\.test\. A {2}from [A-Z, ]*DE/m);
    expect(pv.stdout).toContain('now:     10.1.0.1 10.1.0.2 100%');
    expect(pv.stdout).toContain('drill:   10.2.0.1 100%');
    expect(pv.stdout).toContain('moves:   100% of its answers, to 10.2.0.1 100% (us)');
    expect(pv.stdout).not.toContain('{"region"');
    const run = await drill('run', '--region', 'eu', '--for', '1s', '--reason', 'cli');
    expect(run.stdout).toMatch(/: done {2}target region eu {2}1s/);
    expect(run.stdout).toMatch(/pass\s+traffic_returned/);
    expect(run.stdout).toContain('timeline:');
  }, 30_000);
});
