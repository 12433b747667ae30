/**
 * The admin API over real sockets: zone and record writes that DNS serves at once, validation
 * that changes nothing, ETag/If-Match races, auth, persistence across a restart, a kill -9 in
 * the middle of writes, the simulator agreeing with real DNS answers, and the OpenAPI document.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ask } from '../support/dns-client.js';
import { repoRoot, spawnMeridian, startTestNode, tempZones, waitFor, type MeridianProcess } from '../support/tools.js';
import { loadZoneText } from '../../src/zone/load.js';
import type { RunningNode } from '../../src/node/node.js';
import type { FileSource } from '../../src/state/file-source.js';
import { apiRequest, bearer, localToken, type ApiResponse } from '../support/api.js';

let node: RunningNode;
let base: string;
/** The node runs with no token configured: writes take the token it made for itself. */
let auth: Record<string, string>;
const dirs: string[] = [];

beforeAll(async () => {
  const zones = tempZones();
  dirs.push(zones);
  node = await startTestNode(zones);
  base = `http://127.0.0.1:${node.admin.port}`;
  auth = bearer(localToken(node.localTokenFile));
});
afterAll(async () => {
  await node?.stop();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function api(method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse> {
  return apiRequest(base + url, method, body, { ...auth, ...headers });
}

const NEW_ZONE = {
  zone: 'api.test',
  ttl: 300,
  soa: { mname: 'ns1', rname: 'hostmaster', serial: 1, refresh: '1h', retry: '10m', expire: '1w', minimum: 60 },
  ns: ['ns1'],
  records: [
    { name: 'ns1', type: 'A', value: '192.0.2.53' },
    { name: 'www', type: 'A', values: ['192.0.2.80'] },
  ],
};

describe('zones and records through the API are served by DNS at once', () => {
  it('create → dig sees it; replace → serial bumped and new data served; delete → REFUSED', async () => {
    const created = await api('POST', '/v1/zones', NEW_ZONE);
    expect(created.status).toBe(201);
    const etag1 = created.headers.get('etag')!;
    expect(etag1).toMatch(/^"1-/);
    expect((await ask(node.dns.port, 'www.api.test', 'A')).answers?.map((a) => a.data)).toEqual(['192.0.2.80']);

    const doc = (await api('GET', '/v1/zones/api.test')).json;
    doc.records[1].values = ['192.0.2.81'];
    const replaced = await api('PUT', '/v1/zones/api.test', doc, { 'if-match': etag1 });
    expect(replaced.status).toBe(200);
    expect(replaced.json.serial).toBe(2);
    // No sleep: the write is served before the API answers.
    expect((await ask(node.dns.port, 'www.api.test', 'A')).answers?.map((a) => a.data)).toEqual(['192.0.2.81']);
    const soa = await ask(node.dns.port, 'api.test', 'SOA');
    expect((soa.answers?.[0]?.data as { serial: number } | undefined)?.serial).toBe(2);

    // The file on disk is the new version, written as YAML.
    expect(fs.readFileSync(path.join((node.source as FileSource).dir, 'api.test.yaml'), 'utf8')).toContain('192.0.2.81');

    const del = await api('DELETE', '/v1/zones/api.test', undefined, { 'if-match': replaced.headers.get('etag')! });
    expect(del.status).toBe(204);
    expect((await ask(node.dns.port, 'www.api.test', 'A')).rcode).toBe('REFUSED');
    expect(fs.existsSync(path.join((node.source as FileSource).dir, 'api.test.yaml'))).toBe(false);
  });

  it('records: create, replace, delete a plain record and a policy record', async () => {
    const before = await api('GET', '/v1/zones/gslb.example.org');
    const r1 = await api('POST', '/v1/zones/gslb.example.org/records', { name: 'new', type: 'TXT', value: '"hello"' });
    expect(r1.status).toBe(201);
    expect((await ask(node.dns.port, 'new.gslb.example.org', 'TXT')).answers?.[0]?.data).toEqual([Buffer.from('hello')]);
    const r2 = await api('POST', '/v1/zones/gslb.example.org/records', {
      name: 'lb',
      type: 'A',
      policy: { failover: { tiers: [{ pool: 'web-euc' }, { pool: 'web-euw' }] } },
    });
    expect(r2.status).toBe(201);
    expect((await ask(node.dns.port, 'lb.gslb.example.org', 'A')).answers?.map((a) => a.data)).toEqual(['203.0.113.20']);
    const r3 = await api('PUT', '/v1/zones/gslb.example.org/records/lb/A', { name: 'lb', type: 'A', policy: { pool: 'web-euw' } });
    expect(r3.status).toBe(200);
    expect((await ask(node.dns.port, 'lb.gslb.example.org', 'A')).answers?.map((a) => a.data).sort()).toEqual(['203.0.113.10', '203.0.113.11']);
    expect((await api('GET', '/v1/zones/gslb.example.org/records/lb/A')).json).toMatchObject({ name: 'lb', policy: { pool: 'web-euw' } });
    expect((await api('DELETE', '/v1/zones/gslb.example.org/records/lb/A')).status).toBe(204);
    expect((await api('DELETE', '/v1/zones/gslb.example.org/records/new/TXT')).status).toBe(204);
    expect((await ask(node.dns.port, 'lb.gslb.example.org', 'A')).rcode).toBe('NXDOMAIN');
    expect((await api('GET', '/v1/zones/gslb.example.org/records/lb/A')).status).toBe(404);
    // Five writes, five serial bumps.
    const after = await api('GET', '/v1/zones/gslb.example.org');
    expect(after.json.soa.serial).toBe(before.json.soa.serial + 5);
  });

  it.each([
    ['an unknown field (a typo)', { ...NEW_ZONE, zone: 'bad.test', tll: 5 }, 'tll'],
    ['a value of the wrong type', { ...NEW_ZONE, zone: 'bad.test', ttl: 'soon' }, 'ttl'],
    ['a CNAME beside other data', { ...NEW_ZONE, zone: 'bad.test', records: [...NEW_ZONE.records, { name: 'www', type: 'CNAME', value: 'x' }] }, 'CNAME'],
    ['a policy naming an unknown pool', { ...NEW_ZONE, zone: 'bad.test', policies: [{ name: 'lb', type: 'A', policy: { pool: 'nope' } }] }, 'nope'],
  ])('a bad body (%s) is a 400 problem naming it, and changes nothing', async (_name, body, mention) => {
    const zonesBefore = fs.readdirSync((node.source as FileSource).dir).sort();
    const res = await api('POST', '/v1/zones', body);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.json.errors.length).toBeGreaterThan(0);
    expect(JSON.stringify(res.json.errors)).toContain(mention);
    expect(fs.readdirSync((node.source as FileSource).dir).sort()).toEqual(zonesBefore);
    expect((await ask(node.dns.port, 'www.bad.test', 'A')).rcode).toBe('REFUSED');
  });

  it('a replace that does not load changes nothing (same ETag, same answers)', async () => {
    const before = await api('GET', '/v1/zones/example.net');
    const doc = structuredClone(before.json);
    doc.records.push({ name: 'www.example.net.', type: 'CNAME', value: 'elsewhere.example.' });
    const res = await api('PUT', '/v1/zones/example.net', doc, { 'if-match': before.headers.get('etag')! });
    expect(res.status).toBe(400);
    expect((await api('GET', '/v1/zones/example.net')).headers.get('etag')).toBe(before.headers.get('etag'));
    expect((await ask(node.dns.port, 'www.example.net', 'A')).answers?.map((a) => a.data).sort()).toEqual(['192.0.2.80', '192.0.2.81']);
  });
});

describe('ETag and If-Match', () => {
  it('a stale If-Match is 412 and changes nothing; of two concurrent writers exactly one wins', async () => {
    const g = await api('GET', '/v1/zones/gslb.example.org');
    const etag = g.headers.get('etag')!;
    const a = structuredClone(g.json);
    const b = structuredClone(g.json);
    a.records.push({ name: 'race-a', type: 'A', value: '192.0.2.1' });
    b.records.push({ name: 'race-b', type: 'A', value: '192.0.2.2' });
    const [ra, rb] = await Promise.all([
      api('PUT', '/v1/zones/gslb.example.org', a, { 'if-match': etag }),
      api('PUT', '/v1/zones/gslb.example.org', b, { 'if-match': etag }),
    ]);
    expect([ra.status, rb.status].sort()).toEqual([200, 412]);
    const loser = ra.status === 412 ? ra : rb;
    expect(loser.headers.get('content-type')).toContain('application/problem+json');
    expect(loser.json.code).toBe('MRD_ERR_API_PRECONDITION');
    const winner = ra.status === 200 ? 'race-a' : 'race-b';
    const other = winner === 'race-a' ? 'race-b' : 'race-a';
    expect((await ask(node.dns.port, `${winner}.gslb.example.org`, 'A')).rcode).toBe('NOERROR');
    expect((await ask(node.dns.port, `${other}.gslb.example.org`, 'A')).rcode).toBe('NXDOMAIN');
    // The stale ETag stays stale.
    expect((await api('PUT', '/v1/zones/gslb.example.org', b, { 'if-match': etag })).status).toBe(412);
  });
});

describe('import and export', () => {
  it('exports a zone as an RFC 1035 master file that imports back to the same answers', async () => {
    const exp = await api('GET', '/v1/zones/example.net/export?format=zone');
    expect(exp.status).toBe(200);
    expect(exp.headers.get('content-type')).toContain('text/dns');
    const text = exp.text.replace(/example\.net\./g, 'copy.test.');
    const loaded = loadZoneText(text, 'copy.test.zone');
    expect(loaded.ok).toBe(true);
    const imp = await api('POST', '/v1/zones/import', text, { 'content-type': 'text/dns' });
    expect(imp.status).toBe(201);
    expect((await ask(node.dns.port, 'portal.copy.test', 'A')).answers?.map((a) => a.data)).toContain('192.0.2.80');
    const yaml = await api('GET', '/v1/zones/gslb.example.org/export?format=yaml');
    expect(yaml.text).toContain('zone: gslb.example.org');
  });

  it('a broken master file is refused with file lines', async () => {
    const res = await api('POST', '/v1/zones/import?zone=broken.test', '$ORIGIN broken.test.\n@ IN SOA ns1 h 1 1 1 1 1\n@ IN NS ns1\nwww IN A 300.1.1.1\n', {
      'content-type': 'text/dns',
    });
    expect(res.status).toBe(400);
    expect(res.json.errors[0]).toMatchObject({ line: 4 });
  });
});

describe('simulate', () => {
  it('agrees with real DNS answers for the same client subnet, and explains the path', async () => {
    for (const subnet of ['81.2.69.0/24', '8.8.8.0/24', '1.0.16.0/24']) {
      const sim = await api('GET', `/v1/simulate?name=shop.gslb.example.org&type=A&client=${encodeURIComponent(subnet)}`);
      const [address, prefix] = subnet.split('/');
      const real = await ask(node.dns.port, 'shop.gslb.example.org', 'A', { ecs: { family: 1, sourcePrefix: Number(prefix), address: address! } });
      expect(sim.json.answer.records.map((r: { data: string }) => r.data)).toEqual(real.answers?.map((a) => a.data));
      expect(sim.json.answer.ecs_scope).toBe(24);
    }
    const geo = await api('GET', '/v1/simulate?name=api.gslb.example.org&client=81.2.69.0/24');
    expect(geo.json.explanation.geolocation).toMatchObject({ country: 'GB', continent: 'EU' });
    expect(geo.json.explanation.path[0].at).toBe('geo');
    const whatIf = await api('GET', '/v1/simulate?name=api.gslb.example.org&client=81.2.69.0/24&down_regions=eu-west,eu-central');
    expect(whatIf.json.answer.records.every((r: { data: string }) => !r.data.startsWith('203.0.113.'))).toBe(true);
    expect(whatIf.json.explanation.what_if).toEqual({ down_regions: ['eu-west', 'eu-central'] });
    // What-if changed nothing.
    const again = await ask(node.dns.port, 'api.gslb.example.org', 'A', { ecs: { family: 1, sourcePrefix: 24, address: '81.2.69.0' } });
    expect(again.answers?.[0]?.data).toMatch(/^203\.0\.113\./);
  });
});

describe('overrides and audit', () => {
  it('a drain with an expiry takes an endpoint out, lifts by itself, and every change is audited', async () => {
    const set = await api('POST', '/v1/overrides', { endpoint: 'app/192.0.2.10', kind: 'drain', reason: 'maintenance', expires_in: 1 });
    expect(set.status).toBe(201);
    expect((await ask(node.dns.port, 'app.gslb.example.org', 'A')).answers?.map((a) => a.data)).toEqual(['192.0.2.11']);
    expect((await api('GET', '/v1/overrides')).json.overrides).toEqual([
      expect.objectContaining({ id: 'endpoint:app/192.0.2.10', kind: 'drain', reason: 'maintenance', by: 'local' }),
    ]);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await ask(node.dns.port, 'app.gslb.example.org', 'A')).answers?.map((a) => a.data).sort()).toEqual(['192.0.2.10', '192.0.2.11']);
    expect((await api('GET', '/v1/overrides')).json.overrides).toEqual([]);
    const region = await api('POST', '/v1/overrides', { region: 'us-east', kind: 'force_down', reason: 'drill' });
    expect(region.status).toBe(201);
    expect((await api('DELETE', `/v1/overrides/${encodeURIComponent('region:us-east')}`)).status).toBe(204);
    const audit = (await api('GET', '/v1/audit?limit=50')).json.entries;
    expect(audit).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ action: 'override.set', target: 'endpoint:app/192.0.2.10', who: 'local' }),
        expect.objectContaining({ action: 'override.lift', target: 'region:us-east' }),
      ]),
    );
    expect(audit.find((e: { action: string }) => e.action === 'zone.replace')).toMatchObject({
      before: expect.stringMatching(/^"/),
      after: expect.stringMatching(/^"/),
    });
  });

  it('a region in use cannot be deleted; a bad override body is a 400', async () => {
    const del = await api('DELETE', '/v1/zones/gslb.example.org/regions/us-east');
    expect(del.status).toBe(409);
    expect(del.json.detail).toContain('pools');
    expect((await api('POST', '/v1/overrides', { endpoint: 'x/y', region: 'z', kind: 'drain', reason: 'r' })).status).toBe(400);
    expect((await api('POST', '/v1/overrides', { region: 'z', kind: 'explode', reason: 'r' })).status).toBe(400);
  });
});

describe('regions, pools and endpoints (fastify inject)', () => {
  const inject = async (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown) => {
    const r = await node.app.inject({ method, url, headers: auth, ...(payload !== undefined ? { payload: payload as object } : {}) });
    return { status: r.statusCode, json: r.body ? (JSON.parse(r.body) as any) : undefined, type: r.headers['content-type'] };
  };
  const Z = '/v1/zones/gslb.example.org';

  it('region: create, get, update, delete; unknown → 404; in use → 409', async () => {
    const region = { id: 'sa-east', name: 'São Paulo', location: { lat: -23.5, lon: -46.6 }, country: 'BR' };
    expect((await inject('POST', `${Z}/regions`, region)).status).toBe(201);
    expect((await inject('POST', `${Z}/regions`, region)).status).toBe(409);
    expect((await inject('GET', `${Z}/regions/sa-east`)).json).toMatchObject({ id: 'sa-east', country: 'BR' });
    expect((await inject('GET', '/v1/regions/sa-east')).json).toMatchObject({ id: 'sa-east', continent: 'SA', status: 'empty' });
    expect((await inject('PUT', `${Z}/regions/sa-east`, { ...region, name: 'Sao Paulo' })).status).toBe(200);
    expect((await inject('PUT', `${Z}/regions/sa-east`, { ...region, id: 'other' })).status).toBe(400);
    expect((await inject('POST', `${Z}/regions`, { ...region, id: 'xx', country: 'XX' })).json).toMatchObject({ status: 400, code: 'MRD_ERR_API_BAD_REQUEST' });
    expect((await inject('GET', `${Z}/regions/nope`)).status).toBe(404);
    expect((await inject('GET', '/v1/regions/nope/status')).status).toBe(404);

    // A pool in the region: the region cannot go while the pool uses it.
    const pool = { id: 'web-sae', endpoints: [{ id: 'a', address: '198.51.100.50', region: 'sa-east' }] };
    expect((await inject('POST', `${Z}/pools`, pool)).status).toBe(201);
    expect((await inject('DELETE', `${Z}/regions/sa-east`)).status).toBe(409);

    // Endpoints of the pool.
    expect((await inject('POST', `${Z}/pools/web-sae/endpoints`, { id: 'b', address: '198.51.100.51', region: 'sa-east', weight: 2 })).status).toBe(201);
    expect((await inject('GET', `${Z}/pools/web-sae/endpoints`)).json.endpoints).toHaveLength(2);
    expect((await inject('PUT', `${Z}/pools/web-sae/endpoints/b`, { id: 'b', address: '198.51.100.52', region: 'sa-east' })).status).toBe(200);
    expect((await inject('GET', `${Z}/pools/web-sae/endpoints/b`)).json).toMatchObject({ address: '198.51.100.52' });
    expect((await inject('POST', `${Z}/pools/web-sae/endpoints`, { id: 'c', address: 'not-an-ip', region: 'sa-east' })).status).toBe(400);

    // A policy record using the pool: the pool cannot go while it is used.
    expect((await inject('POST', `${Z}/records`, { name: 'br', type: 'A', policy: { pool: 'web-sae' } })).status).toBe(201);
    expect((await ask(node.dns.port, 'br.gslb.example.org', 'A')).answers?.map((a) => a.data).sort()).toEqual(['198.51.100.50', '198.51.100.52']);
    expect((await inject('DELETE', `${Z}/pools/web-sae`)).status).toBe(409);
    expect((await inject('GET', '/v1/regions/sa-east/status')).json.endpoints_detail).toHaveLength(2);

    // Unwind: record, endpoints (a pool keeps one), pool, region.
    expect((await inject('DELETE', `${Z}/records/br/A`)).status).toBe(204);
    expect((await inject('DELETE', `${Z}/pools/web-sae/endpoints/b`)).status).toBe(204);
    expect((await inject('DELETE', `${Z}/pools/web-sae/endpoints/a`)).status).toBe(409);
    expect((await inject('DELETE', `${Z}/pools/web-sae`)).status).toBe(204);
    expect((await inject('DELETE', `${Z}/regions/sa-east`)).status).toBe(204);
    expect((await inject('GET', `${Z}/pools/web-sae`)).status).toBe(404);
  });
});

describe('probes, metrics and limits', () => {
  it('/livez, /readyz, and /metrics counting real queries by rcode, type, zone and policy', async () => {
    expect((await api('GET', '/livez')).json).toEqual({ status: 'ok' });
    expect((await api('GET', '/readyz')).json).toMatchObject({ status: 'ready' });
    await ask(node.dns.port, 'www.example.net', 'A');
    await ask(node.dns.port, 'api.gslb.example.org', 'A');
    await ask(node.dns.port, 'nope.example.net', 'A');
    const m = (await api('GET', '/metrics')).text;
    expect(m).toMatch(/meridian_dns_queries_total\{rcode="NOERROR",qtype="A",zone="example\.net\.",policy=""\} \d+/);
    expect(m).toMatch(/meridian_dns_queries_total\{rcode="NOERROR",qtype="A",zone="gslb\.example\.org\.",policy="geo"\} \d+/);
    expect(m).toMatch(/meridian_dns_queries_total\{rcode="NXDOMAIN"/);
    expect(m).toMatch(/meridian_dns_answer_duration_seconds_count \d+/);
    expect(m).toContain('meridian_region_status{region="us-east"');
    // The shipped zone has no checks: its regions are unchecked, and never reported healthy.
    expect(m).toContain('meridian_region_status{region="us-east",status="unchecked"} 1');
    expect(m).not.toMatch(/meridian_region_status\{region="[^"]+",status="healthy"\} 1/);
    expect(m).toMatch(/meridian_zone_loads_total\{result="ok"\} \d+/);
    // Default process metrics under their standard names, so stock Node.js dashboards work.
    expect(m).toMatch(/^process_cpu_seconds_total \S+/m);
    expect(m).toMatch(/^nodejs_eventloop_lag_seconds \S+/m);
    expect(m).not.toContain('meridian_process_');
    expect(m).not.toContain('meridian_nodejs_');
    const { version } = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    expect(m).toContain(`meridian_build_info{version="${version}",node="${process.version}",platform="${process.platform}",arch="${process.arch}"} 1`);
  });

  it('/metrics counts policy answers by the region of the endpoints answered', async () => {
    const policyAnswers = (text: string, region: string): number =>
      Number(text.match(new RegExp(`^meridian_policy_answers_total\\{zone="gslb\\.example\\.org\\.",region="${region}"\\} (\\d+)$`, 'm'))?.[1] ?? 0);
    // Which region each address belongs to, from the zone as served.
    const pools = (await api('GET', '/v1/zones/gslb.example.org/pools')).json as { pools: { endpoints: { address?: string; region: string }[] }[] };
    const regionOf = new Map(pools.pools.flatMap((p) => p.endpoints.filter((e) => e.address).map((e) => [e.address!, e.region] as const)));
    const before = (await api('GET', '/metrics')).text;
    // Expected counts come from the answers themselves: each answer counts once for each region it holds.
    const expected = new Map<string, number>();
    for (let i = 0; i < 5; i++) {
      const r = await ask(node.dns.port, 'api.gslb.example.org', 'A', { ecs: { family: 1, sourcePrefix: 24, address: '81.2.69.0' } });
      expect(r.rcode).toBe('NOERROR');
      const regions = new Set((r.answers ?? []).map((a) => regionOf.get(a.data as string)));
      expect(regions.size).toBeGreaterThan(0);
      for (const region of regions) {
        expect(region).toBeDefined();
        expected.set(region!, (expected.get(region!) ?? 0) + 1);
      }
    }
    const after = (await api('GET', '/metrics')).text;
    for (const region of regionOf.values()) expect(policyAnswers(after, region) - policyAnswers(before, region)).toBe(expected.get(region) ?? 0);
    expect(after).toContain('# TYPE meridian_policy_answers_total counter');
  });

  it('a body over the 1 MiB limit is a 413 problem', async () => {
    const res = await api('POST', '/v1/zones', { ...NEW_ZONE, zone: 'big.test', padding: 'x'.repeat(1.2 * 1024 * 1024) });
    expect(res.status).toBe(413);
    expect(res.json.code).toBe('MRD_ERR_API_TOO_LARGE');
  });

  it('unknown routes and zones are 404 problems', async () => {
    expect((await api('GET', '/v1/nothing')).json).toMatchObject({ status: 404, code: 'MRD_ERR_API_NOT_FOUND' });
    expect((await api('GET', '/v1/zones/nosuch.example')).status).toBe(404);
  });
});

describe('OpenAPI', () => {
  it('is a valid OpenAPI 3 document that lists every route', async () => {
    const doc = (await api('GET', '/openapi.json')).json;
    await SwaggerParser.validate(structuredClone(doc));
    // Every route the server has (fastify's own list, HEAD twins and the hidden /openapi.json
    // aside) is documented with a summary, and the document lists nothing else.
    const served = node.app.registeredRoutes
      .filter((r) => r.method !== 'HEAD' && !r.hidden)
      .map((r) => `${r.method.toLowerCase()} ${r.url.replace(/:([A-Za-z_]+)/g, '{$1}')}`)
      .sort();
    const documented = Object.entries(doc.paths as Record<string, Record<string, { summary?: string }>>)
      .flatMap(([p, ops]) =>
        Object.entries(ops).map(([m, op]) => {
          expect(op.summary, `${m} ${p} has a summary`).toBeTruthy();
          return `${m} ${p}`;
        }),
      )
      .sort();
    expect(documented).toEqual(served);
    expect(served.length).toBeGreaterThan(30);
  });
});

describe('auth, persistence and crash safety (real processes)', () => {
  const procs: MeridianProcess[] = [];
  afterEach(() => {
    for (const p of procs.splice(0)) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  });
  const WRITE = 'w'.repeat(32);
  const READ = 'r'.repeat(32);

  it('tokens: 401 without, 403 for read-only writes, open probes, 429 after repeated failures', async () => {
    const p = await spawnMeridian(['--zones', tempZones()], { MERIDIAN_TOKENS: `ops:write:${WRITE},viewer:read:${READ}` });
    procs.push(p);
    const url = `http://127.0.0.1:${p.adminPort}`;
    const none = await fetch(`${url}/v1/zones`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toContain('Bearer');
    expect(none.headers.get('content-type')).toContain('application/problem+json');
    expect((await fetch(`${url}/v1/zones`, { headers: { authorization: `Bearer ${READ}` } })).status).toBe(200);
    const ro = await fetch(`${url}/v1/overrides`, {
      method: 'POST',
      headers: { authorization: `Bearer ${READ}`, 'content-type': 'application/json' },
      body: JSON.stringify({ region: 'x', kind: 'drain', reason: 'r' }),
    });
    expect(ro.status).toBe(403);
    const rw = await fetch(`${url}/v1/overrides`, {
      method: 'POST',
      headers: { authorization: `Bearer ${WRITE}`, 'content-type': 'application/json' },
      body: JSON.stringify({ region: 'us-east', kind: 'drain', reason: 'r' }),
    });
    expect(rw.status).toBe(201);
    expect(((await rw.json()) as { by: string }).by).toBe('ops');
    expect((await fetch(`${url}/livez`)).status).toBe(200);
    expect((await fetch(`${url}/metrics`)).status).toBe(200);
    let last = 0;
    for (let i = 0; i < 12; i++) last = (await fetch(`${url}/v1/zones`, { headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status;
    expect(last).toBe(429);
    // Secrets never reach the log.
    expect(p.logs.join('\n')).not.toContain(WRITE);
  });

  it('refuses to serve the admin API beyond loopback without tokens', async () => {
    await expect(spawnMeridian(['--zones', tempZones(), '--admin', '0.0.0.0:0'])).rejects.toThrow(/MRD_ERR_CONFIG|no token/);
  });

  it("with no token configured: reads are open, a write without the node's own token is 401, always", async () => {
    const p = await spawnMeridian(['--zones', tempZones()]);
    procs.push(p);
    const url = `http://127.0.0.1:${p.adminPort}`;
    expect((await fetch(`${url}/v1/zones`)).status).toBe(200);
    for (const [method, u, body] of [
      ['POST', '/v1/zones', NEW_ZONE],
      ['PUT', '/v1/zones/gslb.example.org', {}],
      ['DELETE', '/v1/zones/gslb.example.org', undefined],
      ['POST', '/v1/health/votes', { checker: 'x', votes: [] }],
    ] as const) {
      // Two tries each, eight in all: under the ten failures a minute that earn a 429.
      for (const h of [{}, { authorization: 'Bearer not-the-token-not-the-token' }] as Record<string, string>[]) {
        const r = await apiRequest(url + u, method, body, h);
        expect(r.status, `${method} ${u}`).toBe(401);
        expect(r.json.code).toBe('MRD_ERR_API_UNAUTHORIZED');
      }
    }
    // Nothing changed: the zone is still served.
    expect((await ask(p.dnsPort, 'app.gslb.example.org', 'A')).rcode).toBe('NOERROR');
    // With the token the same write goes through.
    const token = localToken(p.tokenFile);
    expect((await apiRequest(`${url}/v1/overrides`, 'POST', { endpoint: 'app/192.0.2.10', kind: 'drain', reason: 'x' }, bearer(token))).status).toBe(201);
    // The token is in a file only its owner reads, and the log says where, never what.
    expect(fs.statSync(p.tokenFile!).mode & 0o777).toBe(0o600);
    expect(p.tokenFile).toMatch(/admin-token$/);
    expect(p.logs.join('\n')).not.toContain(localToken(p.tokenFile));
    // Where the token is, told only to a client on this machine (GET /v1/auth/local).
    expect((await apiRequest(`http://127.0.0.1:${p.adminPort}/v1/auth/local`, 'GET')).json).toEqual({ token_file: p.tokenFile });
  });

  it('a zone and an override written through the API survive a restart', async () => {
    const zones = tempZones();
    const state = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-api-state-'));
    dirs.push(zones, state);
    let p = await spawnMeridian(['--zones', zones, '--state', state]);
    procs.push(p);
    let url = `http://127.0.0.1:${p.adminPort}`;
    // The node's own token lives in the state directory, and the restarted node reads it back.
    expect(p.tokenFile).toBe(path.join(state, 'admin-token'));
    const token = localToken(p.tokenFile);
    const post = (u: string, body: unknown) =>
      fetch(url + u, { method: 'POST', headers: { 'content-type': 'application/json', ...bearer(token) }, body: JSON.stringify(body) });
    expect((await post('/v1/zones', NEW_ZONE)).status).toBe(201);
    expect((await post('/v1/overrides', { endpoint: 'app/192.0.2.11', kind: 'force_down', reason: 'bad disk' })).status).toBe(201);
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    p = await spawnMeridian(['--zones', zones, '--state', state]);
    procs.push(p);
    url = `http://127.0.0.1:${p.adminPort}`;
    expect(localToken(p.tokenFile)).toBe(token);
    expect((await ask(p.dnsPort, 'www.api.test', 'A')).answers?.map((a) => a.data)).toEqual(['192.0.2.80']);
    expect((await ask(p.dnsPort, 'app.gslb.example.org', 'A')).answers?.map((a) => a.data)).toEqual(['192.0.2.10']);
    const audit = (await (await fetch(`${url}/v1/audit`)).json()) as { entries: { action: string }[] };
    expect(audit.entries.map((e) => e.action)).toEqual(expect.arrayContaining(['zone.create', 'override.set']));
  });

  it('kill -9 in the middle of writes never leaves a torn or empty zone file', async () => {
    const zones = tempZones();
    dirs.push(zones);
    for (let round = 0; round < 3; round++) {
      const p = await spawnMeridian(['--zones', zones]);
      procs.push(p);
      const url = `http://127.0.0.1:${p.adminPort}`;
      const token = localToken(p.tokenFile);
      let stop = false;
      let written = 0;
      const writer = (async () => {
        let i = 0;
        while (!stop) {
          const g = await fetch(`${url}/v1/zones/gslb.example.org`).catch(() => null);
          if (!g) break;
          const doc = (await g.json()) as { records: { name: string; type: string; value?: string }[] };
          doc.records = doc.records.filter((r) => r.name !== 'churn');
          // About 4 KB of TXT strings per write, so a write takes a while to hit the disk.
          doc.records.push({ name: 'churn', type: 'TXT', value: Array.from({ length: 20 }, (_, k) => `"${'x'.repeat(200)}${round}-${i}-${k}"`).join(' ') });
          i++;
          const res = await fetch(`${url}/v1/zones/gslb.example.org`, {
            method: 'PUT',
            headers: { 'content-type': 'application/json', ...bearer(token) },
            body: JSON.stringify(doc),
          }).catch(() => null);
          if (res?.status === 200) written++;
        }
      })();
      // Killed while writes are under way: after the first one has landed (on a loaded machine
      // the first write can take a while), at a random point of the next ones.
      await waitFor(async () => written > 0 || stop, 15_000, 20);
      await new Promise((r) => setTimeout(r, Math.random() * 400));
      p.child.kill('SIGKILL');
      await p.exited;
      stop = true;
      await writer;
      expect(written, 'writes that succeeded before the kill').toBeGreaterThan(0);
      for (const f of fs.readdirSync(zones).filter((n) => n.endsWith('.yaml') || n.endsWith('.zone'))) {
        const text = fs.readFileSync(path.join(zones, f), 'utf8');
        expect(text.length, f).toBeGreaterThan(0);
        expect(loadZoneText(text, path.join(zones, f)).ok, f).toBe(true);
      }
    }
    const p = await spawnMeridian(['--zones', zones]);
    procs.push(p);
    expect((await ask(p.dnsPort, 'churn.gslb.example.org', 'TXT')).rcode).toBe('NOERROR');
  }, 60_000);
});
