/**
 * The OpenAPI document against what the API really answers. A node in this process (and a second
 * one with tokens) gets a broad set of real requests over real sockets: a success and the errors
 * of every route. Each response is then looked up in /openapi.json (operation, status, media type)
 * and its body validated, with ajv, against the documented schema; a status or media type that is
 * not documented fails. The document itself: every operation has an operationId (unique), tags
 * and a summary; every operation was exercised. (Every other test's responses are checked too,
 * server-side, by test/support/response-check-setup.ts.)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import { Ajv, type ValidateFunction } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, startTestNode, tempZones, waitFor } from '../support/tools.js';
import type { RunningNode } from '../../src/node/node.js';
import { apiRequest, bearer, localToken, type ApiResponse } from '../support/api.js';

interface Seen {
  method: string;
  path: string;
  status: number;
  type: string | null;
  text: string;
}

const seen: Seen[] = [];
const dirs: string[] = [];
let node: RunningNode;
let guarded: RunningNode;
const WRITE = 'w'.repeat(32);
const READ = 'r'.repeat(32);

beforeAll(async () => {
  const zones = tempZones();
  dirs.push(zones);
  // A file that does not load, so the zone list carries file errors too.
  fs.writeFileSync(path.join(zones, 'broken.test.yaml'), 'zone: broken.test\nsoa: { serial: 1 }\nns: [ns1]\n');
  const state = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-openapi-state-'));
  dirs.push(state);
  node = await startTestNode(zones, { stateDir: state });
  const tokens = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-openapi-'));
  dirs.push(tokens);
  fs.writeFileSync(path.join(tokens, 'tokens.yaml'), `- { name: ops, role: write, token: ${WRITE} }\n- { name: viewer, role: read, token: ${READ} }\n`);
  const guardedZones = tempZones();
  dirs.push(guardedZones);
  guarded = await startTestNode(guardedZones, { tokensFile: path.join(tokens, 'tokens.yaml'), protectProbes: true });
});
afterAll(async () => {
  await node?.stop();
  await guarded?.stop();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/**
 * One real request; the response is kept for the check against the document. A write to the node
 * without tokens carries the token it made for itself, unless the request brings its own.
 */
async function call(method: string, url: string, body?: unknown, headers: Record<string, string> = {}, on = node): Promise<ApiResponse> {
  const own = on === node && method !== 'GET' && !('authorization' in headers) ? bearer(localToken(node.localTokenFile)) : {};
  const res = await apiRequest(`http://127.0.0.1:${on.admin.port}${url}`, method, body, { ...own, ...headers });
  seen.push({ method, path: url.split('?')[0]!, status: res.status, type: res.headers.get('content-type')?.split(';')[0]?.trim() ?? null, text: res.text });
  return res;
}

const ZONE = {
  zone: 'openapi.test',
  ttl: 300,
  soa: { mname: 'ns1', rname: 'hostmaster', serial: 1, refresh: '1h', retry: '10m', expire: '1w', minimum: 60 },
  ns: ['ns1'],
  records: [
    { name: 'ns1', type: 'A', value: '192.0.2.53' },
    { name: 'www', type: 'A', values: ['192.0.2.80'] },
  ],
};
const MASTER = '$ORIGIN imported.test.\n$TTL 300\n@ IN SOA ns1 hostmaster 1 3600 600 86400 60\n@ IN NS ns1\nns1 IN A 192.0.2.1\n';

/** Expects a status and returns the response. */
async function expectStatus(status: number, method: string, url: string, body?: unknown, headers?: Record<string, string>, on?: RunningNode) {
  const r = await call(method, url, body, headers, on);
  expect(r.status, `${method} ${url}: ${r.text.slice(0, 300)}`).toBe(status);
  return r;
}

async function driveEveryRoute(): Promise<void> {
  const Z = '/v1/zones/gslb.example.org';
  // probes, pages, meta
  await expectStatus(200, 'GET', '/livez');
  await waitFor(async () => (await call('GET', '/readyz')).status === 200);
  await expectStatus(200, 'GET', '/metrics');
  await expectStatus(200, 'GET', '/');
  await expectStatus(200, 'GET', '/status');
  await expectStatus(200, 'GET', '/openapi.json');
  await expectStatus(200, 'GET', '/v1/schema/zone.json');
  await expectStatus(404, 'GET', '/v1/nothing');
  // the node's own write token: where it is (none on the node with tokens); a write without it is 401
  expect((await expectStatus(200, 'GET', '/v1/auth/local')).json.token_file).toBe(node.localTokenFile);
  await expectStatus(404, 'GET', '/v1/auth/local', undefined, { authorization: `Bearer ${READ}` }, guarded);
  await expectStatus(401, 'POST', '/v1/zones', ZONE, { authorization: '' });

  // zones
  const list = await expectStatus(200, 'GET', '/v1/zones');
  expect(list.json.files.find((f: { file: string }) => f.file.endsWith('broken.test.yaml')).errors.length).toBeGreaterThan(0);
  const created = await expectStatus(201, 'POST', '/v1/zones', ZONE);
  await expectStatus(409, 'POST', '/v1/zones', ZONE);
  await expectStatus(400, 'POST', '/v1/zones', { ...ZONE, zone: 'typo.test', recrods: [] });
  await expectStatus(400, 'POST', '/v1/zones', '{"zone": ', { 'content-type': 'application/json' });
  await expectStatus(415, 'POST', '/v1/zones', '<zone/>', { 'content-type': 'application/xml' });
  await expectStatus(413, 'POST', '/v1/zones', { ...ZONE, padding: 'x'.repeat(1.1 * 1024 * 1024) });
  await expectStatus(201, 'POST', '/v1/zones/import', MASTER);
  await expectStatus(200, 'POST', '/v1/zones/import', MASTER);
  await expectStatus(400, 'POST', '/v1/zones/import?zone=broken.test', '$ORIGIN broken.test.\n@ IN SOA ns1 h 1 1 1 1 1\n@ IN NS ns1\nwww IN A 300.1.1.1\n');
  await expectStatus(415, 'POST', '/v1/zones/import', { zone: 'json.test' });
  const got = await expectStatus(200, 'GET', '/v1/zones/openapi.test');
  await expectStatus(404, 'GET', '/v1/zones/nosuch.test');
  await expectStatus(404, 'GET', '/v1/zones/bad..name');
  await expectStatus(412, 'PUT', '/v1/zones/openapi.test', got.json, { 'if-match': '"stale"' });
  const replaced = await expectStatus(200, 'PUT', '/v1/zones/openapi.test', got.json, { 'if-match': created.headers.get('etag')! });
  await expectStatus(404, 'PUT', '/v1/zones/nosuch.test', { ...ZONE, zone: 'nosuch.test' });
  await expectStatus(400, 'PUT', '/v1/zones/openapi.test', { ...ZONE, zone: 'other.test' });
  await expectStatus(200, 'GET', `${Z}/export`);
  await expectStatus(200, 'GET', '/v1/zones/example.net/export?format=zone');
  await expectStatus(400, 'GET', `${Z}/export?format=xml`);
  await expectStatus(404, 'GET', '/v1/zones/nosuch.test/export');

  // records
  await expectStatus(200, 'GET', `${Z}/records`);
  await expectStatus(404, 'GET', '/v1/zones/nosuch.test/records');
  await expectStatus(201, 'POST', `${Z}/records`, { name: 'new', type: 'TXT', value: '"hello"' });
  await expectStatus(201, 'POST', `${Z}/records`, { name: 'lb', type: 'A', policy: { failover: { tiers: [{ pool: 'web-euc' }, { pool: 'web-euw' }] } } });
  await expectStatus(409, 'POST', `${Z}/records`, { name: 'new', type: 'TXT', value: '"again"' });
  await expectStatus(400, 'POST', `${Z}/records`, { name: 'x', type: 'NOSUCHTYPE', value: '1' });
  await expectStatus(404, 'POST', '/v1/zones/nosuch.test/records', { name: 'x', type: 'A', value: '192.0.2.1' });
  await expectStatus(200, 'GET', `${Z}/records/new/TXT`);
  await expectStatus(200, 'GET', `${Z}/records/lb/A`);
  await expectStatus(404, 'GET', `${Z}/records/none/A`);
  await expectStatus(200, 'PUT', `${Z}/records/lb/A`, { name: 'lb', type: 'A', ttl: '1m', policy: { pool: 'web-euw' } });
  await expectStatus(400, 'PUT', `${Z}/records/lb/A`, { name: 'other', type: 'A', policy: { pool: 'web-euw' } });
  await expectStatus(404, 'PUT', `${Z}/records/none/A`, { name: 'none', type: 'A', value: '192.0.2.9' });
  await expectStatus(412, 'PUT', `${Z}/records/lb/A`, { name: 'lb', type: 'A', policy: { pool: 'web-euw' } }, { 'if-match': '"stale"' });
  await expectStatus(204, 'DELETE', `${Z}/records/lb/A`);
  await expectStatus(204, 'DELETE', `${Z}/records/new/TXT`);
  await expectStatus(404, 'DELETE', `${Z}/records/new/TXT`);

  // regions
  await expectStatus(200, 'GET', '/v1/regions');
  await expectStatus(200, 'GET', '/v1/regions/eu-west');
  await expectStatus(404, 'GET', '/v1/regions/nowhere');
  await expectStatus(200, 'GET', '/v1/regions/eu-west/status');
  await expectStatus(404, 'GET', '/v1/regions/nowhere/status');
  await expectStatus(200, 'GET', `${Z}/regions`);
  await expectStatus(404, 'GET', '/v1/zones/nosuch.test/regions');
  await expectStatus(200, 'GET', `${Z}/regions/eu-west`);
  await expectStatus(404, 'GET', `${Z}/regions/nowhere`);
  const region = { id: 'sa-east', name: 'São Paulo', location: { lat: -23.5, lon: -46.6 }, country: 'BR' };
  await expectStatus(201, 'POST', `${Z}/regions`, region);
  await expectStatus(409, 'POST', `${Z}/regions`, region);
  await expectStatus(200, 'PUT', `${Z}/regions/sa-east`, { ...region, name: 'Sao Paulo' });
  await expectStatus(400, 'PUT', `${Z}/regions/sa-east`, { ...region, id: 'sa-west' });
  await expectStatus(404, 'PUT', `${Z}/regions/nowhere`, { ...region, id: 'nowhere' });
  await expectStatus(409, 'DELETE', `${Z}/regions/us-east`);

  // pools and endpoints
  await expectStatus(200, 'GET', `${Z}/pools`);
  await expectStatus(200, 'GET', `${Z}/pools/app`);
  await expectStatus(404, 'GET', `${Z}/pools/none`);
  const pool = { id: 'web-sae', endpoints: [{ id: 'sae-a', address: '198.51.100.90', region: 'sa-east' }] };
  await expectStatus(201, 'POST', `${Z}/pools`, pool);
  await expectStatus(409, 'POST', `${Z}/pools`, pool);
  await expectStatus(200, 'PUT', `${Z}/pools/web-sae`, { ...pool, check: 'none' });
  await expectStatus(400, 'PUT', `${Z}/pools/web-sae`, { ...pool, id: 'web-saw' });
  await expectStatus(409, 'DELETE', `${Z}/pools/app`);
  await expectStatus(200, 'GET', `${Z}/pools/web-sae/endpoints`);
  await expectStatus(404, 'GET', `${Z}/pools/none/endpoints`);
  await expectStatus(200, 'GET', `${Z}/pools/web-sae/endpoints/sae-a`);
  await expectStatus(404, 'GET', `${Z}/pools/web-sae/endpoints/none`);
  await expectStatus(409, 'DELETE', `${Z}/pools/web-sae/endpoints/sae-a`);
  await expectStatus(201, 'POST', `${Z}/pools/web-sae/endpoints`, { id: 'sae-b', address: '198.51.100.91', region: 'sa-east', weight: 2 });
  await expectStatus(409, 'POST', `${Z}/pools/web-sae/endpoints`, { id: 'sae-b', address: '198.51.100.91', region: 'sa-east' });
  await expectStatus(404, 'POST', `${Z}/pools/none/endpoints`, { id: 'x', address: '198.51.100.92', region: 'sa-east' });
  await expectStatus(200, 'PUT', `${Z}/pools/web-sae/endpoints/sae-b`, { id: 'sae-b', address: '198.51.100.91', region: 'sa-east', weight: 0 });
  await expectStatus(400, 'PUT', `${Z}/pools/web-sae/endpoints/sae-b`, { id: 'sae-c', address: '198.51.100.91', region: 'sa-east' });
  await expectStatus(204, 'DELETE', `${Z}/pools/web-sae/endpoints/sae-b`);
  await expectStatus(404, 'DELETE', `${Z}/pools/web-sae/endpoints/sae-b`);
  await expectStatus(204, 'DELETE', `${Z}/pools/web-sae`);
  await expectStatus(404, 'DELETE', `${Z}/pools/web-sae`);
  await expectStatus(204, 'DELETE', `${Z}/regions/sa-east`);
  await expectStatus(404, 'DELETE', `${Z}/regions/sa-east`);

  // health
  await expectStatus(200, 'GET', '/v1/health');
  const votes = await call('POST', '/v1/health/votes', {
    checker: 'test',
    votes: [{ endpoint: 'app/192.0.2.10', checker: 'test', up: true, rtt_ms: 1, reason: 'ok', at: Date.now() }],
  });
  expect([202, 409], votes.text).toContain(votes.status);
  await expectStatus(400, 'POST', '/v1/health/votes', { checker: 'test', votes: [{ endpoint: 'app/192.0.2.10' }] });

  // overrides and audit
  await expectStatus(200, 'GET', '/v1/overrides');
  await expectStatus(201, 'POST', '/v1/overrides', { endpoint: 'app/192.0.2.10', kind: 'drain', reason: 'openapi test', expires_in: 600 });
  await expectStatus(200, 'POST', '/v1/overrides', { endpoint: 'app/192.0.2.10', kind: 'force_down', reason: 'openapi test' });
  await expectStatus(201, 'POST', '/v1/overrides', { region: 'eu-west', kind: 'drain', reason: 'openapi test' });
  await expectStatus(200, 'GET', '/v1/overrides');
  await expectStatus(200, 'GET', '/v1/regions');
  await expectStatus(200, 'GET', '/v1/regions/eu-west');
  await expectStatus(404, 'POST', '/v1/overrides', { endpoint: 'nope/x', kind: 'drain', reason: 'typo' });
  await expectStatus(400, 'POST', '/v1/overrides', { endpoint: 'x/y', region: 'z', kind: 'drain', reason: 'r' });
  await expectStatus(204, 'DELETE', `/v1/overrides/${encodeURIComponent('endpoint:app/192.0.2.10')}`);
  await expectStatus(204, 'DELETE', `/v1/overrides/${encodeURIComponent('region:eu-west')}`);
  await expectStatus(404, 'DELETE', `/v1/overrides/${encodeURIComponent('region:eu-west')}`);
  await expectStatus(200, 'GET', '/v1/audit?limit=100');
  await expectStatus(200, 'GET', '/v1/audit?target=gslb.example.org.');
  await expectStatus(400, 'GET', '/v1/audit?limit=lots');

  // the simulator
  await expectStatus(200, 'GET', '/v1/simulate?name=api.gslb.example.org&client=81.2.69.0/24');
  await expectStatus(200, 'GET', '/v1/simulate?name=app.gslb.example.org&type=AAAA&client=8.8.8.8&down_regions=us-east');
  await expectStatus(200, 'GET', '/v1/simulate?name=www.example.net&type=MX&down_endpoints=app/192.0.2.10');
  await expectStatus(200, 'GET', '/v1/simulate?name=nothing.nowhere');
  await expectStatus(400, 'GET', '/v1/simulate?name=app.gslb.example.org&client=not-an-ip');
  await expectStatus(400, 'GET', '/v1/simulate');

  // drills
  await expectStatus(200, 'POST', '/v1/drills', { region: 'eu-west', mode: 'preview' });
  await expectStatus(200, 'POST', '/v1/drills', { endpoints: ['web-euw/euw-a'], mode: 'preview' });
  await expectStatus(404, 'POST', '/v1/drills', { region: 'nowhere', mode: 'preview' });
  await expectStatus(400, 'POST', '/v1/drills', { region: 'eu-west', endpoints: ['x/y'], mode: 'preview' });
  const refused = await expectStatus(409, 'POST', '/v1/drills', { region: 'eu-west', mode: 'live', min_healthy_regions: 99, reason: 'openapi test' });
  expect(refused.json.report.state).toBe('refused');
  const live = await expectStatus(202, 'POST', '/v1/drills', { endpoints: ['web-euw/euw-a'], mode: 'live', duration_s: 30, reason: 'openapi test' });
  await expectStatus(200, 'GET', '/v1/drills');
  await expectStatus(200, 'GET', `/v1/drills/${live.json.id}`);
  await expectStatus(404, 'GET', '/v1/drills/nope');
  await expectStatus(200, 'DELETE', `/v1/drills/${live.json.id}`);
  await expectStatus(404, 'DELETE', '/v1/drills/nope');
  await waitFor(async () => (await call('GET', `/v1/drills/${live.json.id}`)).json?.finished_at);

  // cluster
  await expectStatus(200, 'GET', '/v1/nodes');

  // DNSSEC (docs/dnssec.md)
  await expectStatus(200, 'GET', '/v1/zones/example.net/dnssec');
  await expectStatus(404, 'GET', '/v1/zones/nowhere.test/dnssec');
  await expectStatus(409, 'POST', '/v1/zones/example.net/dnssec/rollover', {});
  await expectStatus(400, 'POST', '/v1/zones/example.net/dnssec', { algorithm: 'rsasha1' });
  await expectStatus(201, 'POST', '/v1/zones/example.net/dnssec', {});
  await expectStatus(200, 'POST', '/v1/zones/example.net/dnssec', {});
  await expectStatus(409, 'POST', '/v1/zones/example.net/dnssec', { algorithm: 'ed25519' });
  await expectStatus(200, 'GET', '/v1/zones/example.net/dnssec');
  await expectStatus(200, 'POST', '/v1/zones/example.net/dnssec/rollover', { propagation_delay: '1s' });
  await expectStatus(409, 'POST', '/v1/zones/example.net/dnssec/rollover', {});
  await expectStatus(409, 'POST', '/v1/zones/example.net/dnssec/rollover', { step: 'complete' });
  await expectStatus(200, 'DELETE', '/v1/zones/example.net/dnssec');
  await expectStatus(409, 'DELETE', '/v1/zones/example.net/dnssec');

  // zone delete last: the stale If-Match, then the real one
  await expectStatus(412, 'DELETE', '/v1/zones/openapi.test', undefined, { 'if-match': created.headers.get('etag')! });
  await expectStatus(204, 'DELETE', '/v1/zones/openapi.test', undefined, { 'if-match': replaced.headers.get('etag')! });
  await expectStatus(404, 'DELETE', '/v1/zones/openapi.test');

  // auth, on the node with tokens
  await expectStatus(401, 'GET', '/v1/zones', undefined, {}, guarded);
  await expectStatus(401, 'GET', '/livez', undefined, {}, guarded);
  await expectStatus(200, 'GET', '/', undefined, {}, guarded);
  await expectStatus(200, 'GET', '/v1/zones', undefined, { authorization: `Bearer ${READ}` }, guarded);
  await expectStatus(403, 'POST', '/v1/overrides', { region: 'eu-west', kind: 'drain', reason: 'r' }, { authorization: `Bearer ${READ}` }, guarded);
  await expectStatus(403, 'DELETE', '/v1/zones/example.net', undefined, { authorization: `Bearer ${READ}` }, guarded);
  let last = 0;
  for (let i = 0; i < 12 && last !== 429; i++)
    last = (await call('GET', '/v1/regions', undefined, { authorization: 'Bearer wrong-token-wrong-token' }, guarded)).status;
  expect(last).toBe(429);
}

/** `/v1/zones/{zone}` as a pattern; literal segments beat parameters, as in fastify's router. */
function matcher(template: string): { re: RegExp; params: number } {
  const params = (template.match(/\{[^}]+\}/g) ?? []).length;
  return { re: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}/g, '[^/]+')}$`), params };
}

type Operation = { operationId?: string; tags?: string[]; summary?: string; responses: Record<string, { content?: Record<string, { schema?: object }> }> };

describe('the OpenAPI document matches what the API answers', () => {
  let doc: { paths: Record<string, Record<string, Operation>> };

  beforeAll(async () => {
    await driveEveryRoute();
    doc = JSON.parse((await call('GET', '/openapi.json')).text);
  }, 120_000);

  it('is valid OpenAPI 3, and every operation has a unique operationId, tags and a summary', async () => {
    await SwaggerParser.validate(structuredClone(doc) as never);
    const ids: string[] = [];
    for (const [p, ops] of Object.entries(doc.paths)) {
      for (const [m, op] of Object.entries(ops)) {
        expect(op.operationId, `${m} ${p}: operationId`).toMatch(/^[a-z][A-Za-z]+$/);
        expect(op.tags?.length, `${m} ${p}: tags`).toBeGreaterThan(0);
        expect(op.summary, `${m} ${p}: summary`).toBeTruthy();
        // Every operation documents its errors as problem details.
        const errors = Object.entries(op.responses).filter(([s]) => Number(s) >= 400);
        expect(errors.length, `${m} ${p}: error responses`).toBeGreaterThan(0);
        // (The probe /readyz answers 503 with its usual status body, for load balancers.)
        for (const [s, r] of errors)
          if (op.operationId !== 'getReadiness') expect(Object.keys(r.content ?? {}), `${m} ${p} ${s}`).toEqual(['application/problem+json']);
        ids.push(op.operationId!);
      }
    }
    expect(new Set(ids).size, 'operationIds are unique').toBe(ids.length);
    // Shared shapes are named once, for generated clients.
    const components = (doc as { components?: { schemas?: Record<string, unknown> } }).components?.schemas ?? {};
    for (const name of ['Problem', 'ZoneDocument', 'RecordEntry', 'PolicyRecord', 'Region', 'Pool', 'Endpoint', 'Check', 'ZoneList', 'DrillReport'])
      expect(components, name).toHaveProperty(name);
    expect(doc.paths['/v1/zones/{zone}']!['put']!.responses['412']!.content!['application/problem+json']!.schema).toEqual({
      $ref: '#/components/schemas/Problem',
    });
  });

  it('every field name is snake_case, but for the old names of renamed fields, which are deprecated (docs/api.md, "Field names")', () => {
    const camel: string[] = [];
    const walk = (node: unknown, at: string): void => {
      if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${at}[${i}]`));
      if (node === null || typeof node !== 'object') return;
      const o = node as Record<string, unknown>;
      if (o['properties'] && typeof o['properties'] === 'object') {
        for (const [name, sub] of Object.entries(o['properties'] as Record<string, { deprecated?: boolean }>)) {
          if (/^[a-z][a-z0-9_]*$/.test(name)) continue;
          camel.push(`${at}.${name}`);
          expect(sub.deprecated, `${at}.${name} is not snake_case, so it must be a deprecated old name`).toBe(true);
        }
      }
      for (const [k, v] of Object.entries(o)) walk(v, `${at}/${k}`);
    };
    walk(doc.paths, 'paths');
    walk((doc as { components?: unknown }).components, 'components');
    // The renamed ones are there (both in GET answers and in the vote body), and nothing else.
    expect(new Set(camel.map((c) => c.split('.').pop()))).toEqual(new Set(['rttMs', 'ageMs', 'staleAfterMs']));
  });

  it('every response received is documented (operation, status, media type) and its body matches the schema', () => {
    const ajv = new Ajv({ strict: false, allErrors: true });
    // Named schemas are `$ref`s into components/schemas: the document is their root.
    ajv.addSchema({ $id: 'openapi.json', components: (doc as { components?: unknown }).components } as never);
    const rooted = (schema: object): object => JSON.parse(JSON.stringify(schema).replaceAll('"$ref":"#/components/', '"$ref":"openapi.json#/components/'));
    const compiled = new Map<object, ValidateFunction>();
    const routes = Object.entries(doc.paths).map(([template, ops]) => ({ template, ops, ...matcher(template) }));
    const failures: string[] = [];
    const exercised = new Map<string, Set<number>>();
    for (const r of seen) {
      const route = routes.filter((x) => x.re.test(r.path) && x.ops[r.method.toLowerCase()]).sort((a, b) => a.params - b.params)[0];
      const where = `${r.method} ${r.path} → ${r.status} ${r.type}`;
      if (!route) {
        // No route: the not-found handler, whose body is still a problem.
        if (r.status !== 404 || r.type !== 'application/problem+json') failures.push(`${where}: no operation for it`);
        continue;
      }
      const op = route.ops[r.method.toLowerCase()]!;
      (exercised.get(op.operationId!) ?? exercised.set(op.operationId!, new Set()).get(op.operationId!)!).add(r.status);
      const response = op.responses[String(r.status)];
      if (!response) {
        failures.push(`${where}: status not documented for ${op.operationId}`);
        continue;
      }
      if (!response.content) {
        if (r.text !== '') failures.push(`${where}: documented without a body, got ${r.text.slice(0, 80)}`);
        continue;
      }
      const media = response.content[r.type ?? ''];
      if (!media?.schema) {
        failures.push(`${where}: media type not documented for ${op.operationId} (${Object.keys(response.content).join(', ')})`);
        continue;
      }
      const body = r.type === 'application/json' || r.type?.endsWith('+json') ? JSON.parse(r.text) : r.text;
      let validate = compiled.get(media.schema);
      if (!validate) compiled.set(media.schema, (validate = ajv.compile(rooted(media.schema))));
      if (!validate(body)) failures.push(`${where}: ${ajv.errorsText(validate.errors)}`);
    }
    expect(failures).toEqual([]);
    // The validation is not vacuous: a body of the wrong shape fails it.
    const listZones = ajv.compile(rooted(doc.paths['/v1/zones']!['get']!.responses['200']!.content!['application/json']!.schema!));
    expect(listZones({ zones: [{ name: 'x.', serial: 'one' }], files: [] })).toBe(false);
    expect(ajv.compile(rooted(doc.paths['/v1/zones/{zone}']!['get']!.responses['404']!.content!['application/problem+json']!.schema!))({ title: 'x' })).toBe(
      false,
    );
    // Broad: every operation was called, and answered with a success at least once.
    const ops = Object.values(doc.paths).flatMap((o) => Object.values(o).map((x) => x.operationId!));
    expect(
      ops.filter((id) => ![...(exercised.get(id) ?? [])].some((s) => s < 300)),
      'operations never answered with a success',
    ).toEqual([]);
    expect(seen.length).toBeGreaterThan(120);
  });

  it('serves the zone JSON Schema byte for byte as schema/zone.schema.json', () => {
    const served = seen.find((r) => r.path === '/v1/schema/zone.json' && r.status === 200)!;
    expect(served.type).toBe('application/schema+json');
    expect(served.text).toBe(fs.readFileSync(path.join(repoRoot, 'schema/zone.schema.json'), 'utf8'));
  });
});
