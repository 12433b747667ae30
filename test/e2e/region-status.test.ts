/**
 * The status view never claims more than it knows (issue 12; docs/health.md, "Region states"):
 * a region is `healthy` only when its checks say so, an unchecked one is `unchecked`, and drained
 * and weight-0 endpoints are marked and not counted as capacity — alike in `GET /v1/regions`,
 * `GET /v1/regions/{id}/status`, `meridian ctl regions` and `/metrics`. Real `meridian serve`
 * processes, a real HTTP target on a loopback address, `meridian ctl` as a real process.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, repoRoot, spawnMeridian, tempZones, waitFor, type MeridianProcess } from '../support/tools.js';
import { Target } from '../support/target.js';
import { compileSchema } from '../../src/validation/validate.js';
import { RegionResponse, RegionsResponse, RegionStatusResponse } from '../../src/health/status-schema.js';

const run = promisify(execFile);

function zoneText(port: number): string {
  return `
zone: st.test
soa: { mname: ns1, rname: hostmaster, serial: 1, refresh: 1h, retry: 10m, expire: 1w, minimum: 5 }
ns: [ns1]
records: [ { name: ns1, type: A, value: 192.0.2.53 } ]
checks:
  - { id: web, type: http, path: /health, port: ${port}, body: ok, interval: 1s, timeout: 500ms, rise: 1, fall: 1 }
regions:
  - { id: checked, location: { lat: 50, lon: 8 }, country: DE }
  - { id: failing, location: { lat: 39, lon: -77 }, country: US }
  - { id: nochecks, location: { lat: 1.35, lon: 103.8 }, country: SG }
  - { id: standby, location: { lat: 45.5, lon: -122.7 }, country: US }
  - { id: zeroed, location: { lat: -33.9, lon: 151.2 }, country: AU }
  - { id: bare, location: { lat: -23.5, lon: -46.6 }, country: BR }
pools:
  # Checked and up (a real target), plus one endpoint with its check turned off.
  - id: up
    check: web
    endpoints:
      - { id: a, address: 127.0.0.71, region: checked }
      - { id: b, address: 127.0.0.75, region: checked, check: none }
  # Checked, and nothing listens there: down.
  - { id: dn, check: web, endpoints: [ { id: a, address: 127.0.0.72, region: failing } ] }
  # No checks at all.
  - { id: nc, endpoints: [ { id: a, address: 192.0.2.10, region: nochecks }, { id: b, address: 192.0.2.11, region: nochecks } ] }
  # One endpoint at weight 0 next to one at weight 3.
  - { id: sb, endpoints: [ { id: main, address: 192.0.2.20, region: standby, weight: 3 }, { id: spare, address: 192.0.2.21, region: standby, weight: 0 } ] }
  # Only weight 0.
  - { id: z, endpoints: [ { id: a, address: 192.0.2.30, region: zeroed, weight: 0 } ] }
policies:
  - { name: www, type: A, policy: { failover: { tiers: [ { pool: up }, { pool: dn }, { pool: nc }, { pool: sb } ] } } }
  - { name: zero, type: A, policy: { pool: z } }
`;
}

interface Region {
  id: string;
  status: string;
  endpoints: { total: number; usable: number; up: number; down: number; unknown: number; unchecked: number; drained: number; weight_zero: number };
  endpoint_statuses: Record<string, number>;
  weight: { total: number; usable: number };
  members: {
    endpoint: string;
    status: string;
    state: string;
    usable: boolean;
    weight: number;
    weight_zero: boolean;
    drained: boolean;
    check: string | null;
    reason: string | null;
  }[];
}

async function regionsOf(node: MeridianProcess): Promise<Region[]> {
  const res = await fetch(`http://127.0.0.1:${node.adminPort}/v1/regions`);
  return ((await res.json()) as { regions: Region[] }).regions;
}

/** `meridian_region_status` as region → the status whose gauge is 1 (and checks there is exactly one). */
async function metricStatuses(node: MeridianProcess): Promise<Map<string, string>> {
  const text = await (await fetch(`http://127.0.0.1:${node.adminPort}/metrics`)).text();
  const out = new Map<string, string>();
  for (const m of text.matchAll(/^meridian_region_status\{region="([^"]+)",status="([^"]+)"\} (\d+)$/gm)) {
    if (m[3] === '1') {
      expect(out.has(m[1]!), `two statuses for ${m[1]}`).toBe(false);
      out.set(m[1]!, m[2]!);
    }
  }
  return out;
}

async function ctl(node: MeridianProcess, ...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [path.join(repoRoot, 'dist/main.js'), 'ctl', '--api', `http://127.0.0.1:${node.adminPort}`, ...args]);
  return stdout;
}

/** `ctl regions list` as rows of cells (columns are separated by two or more spaces). */
async function ctlRegions(node: MeridianProcess): Promise<Map<string, string[]>> {
  const lines = (await ctl(node, 'regions', 'list')).trim().split('\n');
  expect(lines[0]!.split(/\s{2,}/)).toEqual(['REGION', 'STATUS', 'USABLE', 'ENDPOINTS', 'OVERRIDE']);
  return new Map(
    lines
      .slice(1)
      .map((l) => l.split(/\s{2,}/))
      .map((cells) => [cells[0]!, cells]),
  );
}

/** Checks a live answer against its schema (health/status-schema.ts), which names every property. */
function expectShape(schema: Parameters<typeof compileSchema>[0], body: unknown): void {
  const validate = compileSchema(schema);
  expect(validate(body), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
}

const procs: MeridianProcess[] = [];
const dirs: string[] = [];
afterAll(() => {
  for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('region states on a zone with every case', () => {
  let node: MeridianProcess;
  let target: Target;

  beforeAll(async () => {
    const port = await freePort();
    target = new Target('127.0.0.71', port);
    await target.start();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-rs-'));
    dirs.push(dir);
    fs.writeFileSync(path.join(dir, 'st.test.yaml'), zoneText(port));
    node = await spawnMeridian(['--zones', dir, '--region', 'checked']);
    procs.push(node);
    // Wait until both checked endpoints have a verdict.
    await waitFor(
      async () => {
        const rs = await regionsOf(node);
        const view = (region: string) => rs.find((r) => r.id === region)?.members[0]?.state;
        return view('checked') === 'up' && view('failing') === 'down';
      },
      15_000,
      200,
    );
  }, 30_000);
  afterAll(async () => {
    await target?.stop();
  });

  it('GET /v1/regions derives each status as docs/health.md says', async () => {
    const rs = new Map((await regionsOf(node)).map((r) => [r.id, r]));
    // Checked and up by a real HTTP check; the unchecked endpoint beside it does not degrade it.
    expect(rs.get('checked')).toMatchObject({
      status: 'healthy',
      endpoints: { total: 2, usable: 2, up: 1, unchecked: 1 },
      endpoint_statuses: { up: 1, unchecked: 1 },
    });
    expect(rs.get('checked')!.members.find((m) => m.endpoint === 'up/a')).toMatchObject({ status: 'up', state: 'up', check: 'web', usable: true });
    expect(rs.get('checked')!.members.find((m) => m.endpoint === 'up/b')).toMatchObject({ status: 'unchecked', state: 'unknown', check: null, usable: true });
    expect(rs.get('failing')).toMatchObject({ status: 'down', endpoints: { total: 1, usable: 0, down: 1 } });
    expect(rs.get('failing')!.members[0]).toMatchObject({ status: 'down', usable: false, reason: 'down (health checks)' });
    // No checks: answered, but nobody looked — unchecked, never healthy.
    expect(rs.get('nochecks')).toMatchObject({
      status: 'unchecked',
      endpoints: { total: 2, usable: 2, up: 0, unknown: 2, unchecked: 2 },
      endpoint_statuses: { unchecked: 2 },
    });
    // Weight 0 is marked, is not usable, and its weight is not capacity.
    expect(rs.get('standby')).toMatchObject({
      status: 'degraded',
      endpoints: { total: 2, usable: 1, weight_zero: 1 },
      endpoint_statuses: { unchecked: 1, weight_zero: 1 },
      weight: { total: 3, usable: 3 },
    });
    expect(rs.get('standby')!.members.find((m) => m.endpoint === 'sb/spare')).toMatchObject({
      status: 'weight_zero',
      weight: 0,
      weight_zero: true,
      usable: false,
      reason: 'weight 0 (drained)',
    });
    expect(rs.get('standby')!.members.find((m) => m.endpoint === 'sb/main')).toMatchObject({
      status: 'unchecked',
      weight: 3,
      weight_zero: false,
      usable: true,
    });
    expect(rs.get('zeroed')).toMatchObject({ status: 'drained', endpoints: { total: 1, usable: 0, weight_zero: 1 }, weight: { total: 0, usable: 0 } });
    expect(rs.get('bare')).toMatchObject({ status: 'empty', endpoints: { total: 0 } });

    // The per-region view says the same.
    const one = (await (await fetch(`http://127.0.0.1:${node.adminPort}/v1/regions/standby/status`)).json()) as {
      status: string;
      endpoints_detail: { endpoint: string; status: string; weight_zero: boolean; usable: boolean; health: string }[];
    };
    expect(one.status).toBe('degraded');
    expect(one.endpoints_detail.find((e) => e.endpoint === 'sb/spare')).toMatchObject({
      status: 'weight_zero',
      weight_zero: true,
      usable: false,
      health: 'unknown',
    });
  });

  it('answers exactly the shapes of health/status-schema.ts (for the OpenAPI response schemas)', async () => {
    const get = async (p: string) => (await fetch(`http://127.0.0.1:${node.adminPort}${p}`)).json();
    // With a drain and a region override in force, so that every optional part is present.
    await ctl(node, 'drain', 'nc/a', '--reason', 'shape');
    await ctl(node, 'drain', '--region', 'zeroed', '--reason', 'shape', '--for', '30m');
    try {
      expectShape(RegionsResponse, await get('/v1/regions'));
      for (const id of ['checked', 'failing', 'nochecks', 'standby', 'zeroed', 'bare']) {
        expectShape(RegionResponse, await get(`/v1/regions/${id}`));
        expectShape(RegionStatusResponse, await get(`/v1/regions/${id}/status`));
      }
      // A schema that names every property catches a field the code adds and the schema lacks.
      const extra = (await get('/v1/regions')) as { regions: Record<string, unknown>[] };
      extra.regions[0]!['surprise'] = 1;
      expect(compileSchema(RegionsResponse)(extra)).toBe(false);
    } finally {
      await ctl(node, 'undrain', 'nc/a');
      await ctl(node, 'undrain', '--region', 'zeroed');
    }
  });

  it('metrics and ctl report the same statuses as the API, and the unchecked region is not healthy in either', async () => {
    const api = new Map((await regionsOf(node)).map((r) => [r.id, r.status]));
    const metrics = await metricStatuses(node);
    expect(metrics).toEqual(api);
    expect(metrics.get('nochecks')).toBe('unchecked');
    expect(metrics.get('checked')).toBe('healthy');
    const text = await (await fetch(`http://127.0.0.1:${node.adminPort}/metrics`)).text();
    expect(text).toContain('meridian_region_endpoints{region="standby",status="weight_zero"} 1');
    expect(text).toContain('meridian_region_usable_endpoints{region="standby"} 1');
    expect(text).toContain('meridian_region_usable_endpoints{region="zeroed"} 0');

    const rows = await ctlRegions(node);
    for (const [id, status] of api) expect(rows.get(id)?.[1], id).toBe(status);
    expect(rows.get('nochecks')).toEqual(['nochecks', 'unchecked', '2/2', '2 unchecked', '-']);
    expect(rows.get('standby')).toEqual(['standby', 'degraded', '1/2', '1 unchecked, 1 weight zero', '-']);
    expect(rows.get('checked')).toEqual(['checked', 'healthy', '2/2', '1 up, 1 unchecked', '-']);

    const detail = await ctl(node, 'regions', 'status', 'standby');
    expect(detail).toMatch(/^sb\/spare\s+192\.0\.2\.21\s+0\s+weight_zero\s+unknown\s+no\s+weight 0 \(drained\)/m);
    // A checked endpoint's votes, with their RTT (`rtt_ms`, docs/api.md "Field names").
    expect(await ctl(node, 'regions', 'status', 'checked')).toMatch(/:up [\d.]+ms /);
  });

  it('a drained region is drained (not down) everywhere, and lifting the drain makes it unchecked again, not healthy', async () => {
    expect(await ctl(node, 'drain', '--region', 'nochecks', '--reason', 'maintenance')).toMatch(/^drained region:nochecks/);
    expect((await regionsOf(node)).find((r) => r.id === 'nochecks')).toMatchObject({ status: 'drained', endpoints: { usable: 0, drained: 2 } });
    expect((await metricStatuses(node)).get('nochecks')).toBe('drained');
    expect((await ctlRegions(node)).get('nochecks')).toEqual(['nochecks', 'drained', '0/2', '2 drained', 'drain (maintenance)']);

    await ctl(node, 'undrain', '--region', 'nochecks');
    expect((await regionsOf(node)).find((r) => r.id === 'nochecks')?.status).toBe('unchecked');
    expect((await metricStatuses(node)).get('nochecks')).toBe('unchecked');

    // Draining one checked-up endpoint degrades its region, and the endpoint says why.
    await ctl(node, 'drain', 'up/a', '--reason', 'disk swap');
    const checked = (await regionsOf(node)).find((r) => r.id === 'checked')!;
    expect(checked).toMatchObject({ status: 'degraded', endpoints: { usable: 1, drained: 1, up: 1 } });
    expect(checked.members.find((m) => m.endpoint === 'up/a')).toMatchObject({ status: 'drained', drained: true, state: 'up', usable: false });
    await ctl(node, 'undrain', 'up/a');
    expect((await regionsOf(node)).find((r) => r.id === 'checked')?.status).toBe('healthy');
  });

  it('a region turns from healthy to degraded when its checked target dies (its unchecked endpoint stays usable), and back', async () => {
    await target.stop();
    await waitFor(async () => (await regionsOf(node)).find((r) => r.id === 'checked')?.status === 'degraded', 10_000, 200);
    // up/b has no check, so it stays usable: the region is degraded, not down.
    expect((await regionsOf(node)).find((r) => r.id === 'checked')).toMatchObject({ endpoints: { usable: 1, down: 1, unchecked: 1 } });
    await target.start();
    await waitFor(async () => (await regionsOf(node)).find((r) => r.id === 'checked')?.status === 'healthy', 10_000, 200);
  }, 30_000);
});

describe('the shipped zone', () => {
  it('reports no region healthy unless one of its endpoints is up by its checks (API, ctl, metrics)', async () => {
    const dir = tempZones();
    dirs.push(dir);
    const node = await spawnMeridian(['--zones', dir]);
    procs.push(node);
    const regions = await regionsOf(node);
    expect(regions.length).toBeGreaterThan(0);
    const metrics = await metricStatuses(node);
    const rows = await ctlRegions(node);
    for (const r of regions) {
      if (r.status === 'healthy') expect(r.endpoints.up, r.id).toBeGreaterThan(0);
      if (r.endpoints.total > 0 && r.endpoints.unchecked === r.endpoints.total) expect(r.status, r.id).toBe('unchecked');
      expect(metrics.get(r.id), r.id).toBe(r.status);
      expect(rows.get(r.id)?.[1], r.id).toBe(r.status);
      for (const m of r.members) if (m.check === null && m.usable && !m.drained) expect(m.status, m.endpoint).toBe('unchecked');
    }
    node.child.kill('SIGTERM');
    await node.exited;
  }, 30_000);
});
