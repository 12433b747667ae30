/**
 * Steering by what the health checks measure, with a real `meridian serve` and real HTTP targets
 * on loopback (docs/policies/latency.md "RTTs from the health probes", docs/health.md "Weights
 * reported by targets"):
 * - two pools whose health targets answer after 5 ms and 150 ms: a `rtt_from: probes` latency
 *   policy answers the fast one, and when the delays swap the answers follow within a few check
 *   intervals; the simulator says which RTTs decided;
 * - two endpoints whose health targets report weights 9 and 1: 2,000 queries split about 90/10,
 *   and when the targets report 1 and 9 the split follows; /v1/health and /v1/regions show it.
 */
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ask } from '../support/dns-client.js';
import { repoRoot, spawnMeridian, waitFor, type MeridianProcess } from '../support/tools.js';

const DB = path.join(repoRoot, 'test/fixtures/geo/gslb-test-city.mmdb');
const procs: MeridianProcess[] = [];
const servers: http.Server[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) {
    if (p.child.exitCode === null) {
      p.child.kill('SIGTERM');
      await p.exited;
    }
  }
});
afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

/** An HTTP target whose reply (delay, headers, body) is read at each request from `state`. */
async function target(state: { delayMs: number; weight?: number }): Promise<number> {
  const server = http.createServer((_req, res) => {
    setTimeout(() => {
      if (state.weight !== undefined) res.setHeader('x-weight', String(state.weight));
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ status: 'ok', lb: { weight: state.weight ?? null } }));
    }, state.delayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return (server.address() as net.AddressInfo).port;
}

function zonesWith(text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-steer-'));
  fs.writeFileSync(path.join(dir, 'steer.test.yaml'), text);
  return dir;
}

const HEAD = `zone: steer.test
ttl: 60
soa: { mname: ns1, rname: hostmaster, serial: 1, refresh: 1h, retry: 10m, expire: 1w, minimum: 60 }
ns: [ns1]
records: [ { name: ns1, type: A, value: 192.0.2.53 } ]
regions:
  - { id: fra, location: { lat: 50.11, lon: 8.68 }, country: DE }
  - { id: one, location: { lat: 48.86, lon: 2.35 }, country: FR }
  - { id: two, location: { lat: 52.37, lon: 4.9 }, country: NL }
`;

async function answers(port: number, name: string): Promise<string[]> {
  const r = await ask(port, name, 'A', { timeoutMs: 2000 });
  if (r.rcode !== 'NOERROR') throw new Error(`rcode ${r.rcode}`);
  return (r.answers ?? []).filter((x) => x.type === 'A').map((x) => String(x.data));
}

async function json<T>(p: MeridianProcess, url: string): Promise<T> {
  return (await (await fetch(`http://127.0.0.1:${p.adminPort}${url}`)).json()) as T;
}

describe('latency from the health probes (rtt_from: probes)', () => {
  it('answers the pool whose health target answers fastest, follows when the delays swap, and the simulator names the RTTs', async () => {
    const one = { delayMs: 5 };
    const two = { delayMs: 150 };
    const [p1, p2] = [await target(one), await target(two)];
    const zones = zonesWith(`${HEAD}checks:
  - { id: one, type: http, address: 127.0.0.1, port: ${p1}, path: /health, interval: 1s, timeout: 500ms, jitter: 0, rise: 1, fall: 1 }
  - { id: two, type: http, address: 127.0.0.1, port: ${p2}, path: /health, interval: 1s, timeout: 500ms, jitter: 0, rise: 1, fall: 1 }
pools:
  - { id: one, check: one, endpoints: [ { id: a, address: 192.0.2.1, region: one } ] }
  - { id: two, check: two, endpoints: [ { id: a, address: 192.0.2.2, region: two } ] }
policies:
  - name: www
    type: A
    ttl: 5
    policy:
      latency:
        rtt_from: probes
        regions: [ { region: two, policy: { pool: two } }, { region: one, policy: { pool: one } } ]
`);
    // The node checks from fra; the client (127.0.0.1) is in Frankfurt by the test database, so fra is the nearest checker region.
    const p = await spawnMeridian(['--zones', zones, '--region', 'fra', '--geoip-db', DB]);
    procs.push(p);
    // Before any probe, distance decides: two (Amsterdam) is nearer Frankfurt than one (Paris).
    const first = await json<{ explanation: { path: { note: string }[] }; answer: { records: { data: string }[] } }>(
      p,
      '/v1/simulate?name=www.steer.test&client=127.0.0.1',
    );
    if (first.explanation.path.some((s) => s.note.includes('via distance'))) expect(first.answer.records.map((r) => r.data)).toEqual(['192.0.2.2']);
    await waitFor(async () => (await answers(p.dnsPort, 'www.steer.test'))[0] === '192.0.2.1', 10_000, 100);
    // Both targets measured (the fast one may win before the slow one's first probe is in).
    type Sim = { explanation: { path: { note: string }[] } };
    const bothMeasured = /one \d+(\.\d+)? ms \(probes one\/a\), two \d+(\.\d+)? ms \(probes two\/a\)/;
    const sim = await waitFor(
      async () => {
        const s = await json<Sim>(p, '/v1/simulate?name=www.steer.test&client=127.0.0.1');
        return bothMeasured.test(s.explanation.path.map((x) => x.note).join('\n')) ? s : null;
      },
      10_000,
      100,
    );
    const why = sim.explanation.path.map((s) => s.note).join('\n');
    expect(why).toContain('latency via probes from checker region fra');
    expect(why).toMatch(/one \d+(\.\d+)? ms \(probes one\/a\), two \d+(\.\d+)? ms \(probes two\/a\)/);
    const health = await json<{ endpoints: { endpoint: string; votes: { checker: string; smoothed_rtt_ms: number | null }[] }[] }>(p, '/v1/health');
    const smoothed = (ep: string) => health.endpoints.find((e) => e.endpoint === ep)!.votes.find((v) => v.checker === 'fra')!.smoothed_rtt_ms!;
    expect(smoothed('one/a')).toBeLessThan(smoothed('two/a'));

    // Swap the delays: within a few check intervals (1 s each) the answers follow.
    one.delayMs = 150;
    two.delayMs = 5;
    const swappedAt = Date.now();
    await waitFor(async () => (await answers(p.dnsPort, 'www.steer.test'))[0] === '192.0.2.2', 8_000, 100);
    const intervals = (Date.now() - swappedAt) / 1000;
    expect(intervals).toBeLessThan(8);
    // And it stays there.
    for (let i = 0; i < 20; i++) expect(await answers(p.dnsPort, 'www.steer.test')).toEqual(['192.0.2.2']);
  });
});

describe('weights reported by targets (weight_from)', () => {
  it('targets reporting 9 and 1 split 2,000 answers about 90/10; reporting 1 and 9, the split follows', async () => {
    const a = { delayMs: 0, weight: 9 };
    const b = { delayMs: 0, weight: 1 };
    const [pa, pb] = [await target(a), await target(b)];
    const zones = zonesWith(`${HEAD}checks:
  - { id: wa, type: http, address: 127.0.0.1, port: ${pa}, path: /load, weight_from: { json: lb.weight }, interval: 1s, timeout: 500ms, jitter: 0, rise: 1, fall: 1 }
  - { id: wb, type: http, address: 127.0.0.1, port: ${pb}, path: /load, weight_from: { header: X-Weight }, interval: 1s, timeout: 500ms, jitter: 0, rise: 1, fall: 1 }
pools:
  - id: web
    endpoints:
      - { id: a, address: 192.0.2.1, region: one, weight: 1, check: wa }
      - { id: b, address: 192.0.2.2, region: two, weight: 1, check: wb }
policies:
  - { name: www, type: A, ttl: 5, policy: { weighted: { pool: web } } }
`);
    const p = await spawnMeridian(['--zones', zones, '--region', 'fra', '--geoip-db', DB]);
    procs.push(p);
    type Health = { endpoints: { endpoint: string; weight: number; reported_weight: number | null; effective_weight: number }[] };
    const effective = async (): Promise<string> =>
      (await json<Health>(p, '/v1/health')).endpoints
        .map((e) => `${e.endpoint}=${e.effective_weight}`)
        .sort()
        .join(' ');
    // b's configured weight is 1 too: wait until both targets have reported, not just until the weights read 9 and 1.
    await waitFor(
      async () => (await effective()) === 'web/a=9 web/b=1' && (await json<Health>(p, '/v1/health')).endpoints.every((e) => e.reported_weight !== null),
      10_000,
      100,
    );
    expect((await json<Health>(p, '/v1/health')).endpoints.find((e) => e.endpoint === 'web/a')).toMatchObject({ weight: 1, reported_weight: 9 });
    const regions = await json<{ regions: { members: { endpoint: string; weight: number; reported_weight: number | null }[] }[] }>(p, '/v1/regions');
    expect(regions.regions.flatMap((r) => r.members).find((m) => m.endpoint === 'web/b')).toMatchObject({ weight: 1, reported_weight: 1 });

    const split = async (): Promise<number> => {
      let first = 0;
      for (let i = 0; i < 2000; i++) if ((await answers(p.dnsPort, 'www.steer.test'))[0] === '192.0.2.1') first++;
      return first;
    };
    // Binomial(2000, 0.9): mean 1800, standard deviation 13.4; ±100 is over 7 deviations.
    const before = await split();
    expect(before).toBeGreaterThan(1700);
    expect(before).toBeLessThan(1900);

    a.weight = 1;
    b.weight = 9;
    await waitFor(async () => (await effective()) === 'web/a=1 web/b=9', 10_000, 100);
    const after = await split();
    expect(after).toBeGreaterThan(100);
    expect(after).toBeLessThan(300);

    // A target that stops reporting: its configured weight (1) comes back, the other keeps its report (9).
    delete (b as { weight?: number }).weight;
    await waitFor(async () => (await effective()) === 'web/a=1 web/b=1', 10_000, 100);
  });
});
