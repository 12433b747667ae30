/**
 * Every MRD_ERR_API_* code of the registry (src/errors.ts) produced by a real request to a real
 * `meridian serve` process: each answer is an RFC 9457 problem whose `code` is the one the
 * failure was raised with and whose `status` is that code's in the registry (admin/problem.ts
 * never derives a code from a status); the title is the registry's unless the API names the
 * situation more precisely ("No such zone"). The store-unavailable case is a cluster
 * node whose etcd is stopped: a write is 503 MRD_ERR_API_UNAVAILABLE (docs/api.md) and changes
 * nothing. A last test checks no MRD_ERR_API_* code went unproduced.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, type ErrorCode } from '../../src/errors.js';
import { hasEtcd, startEtcd, type TestEtcd } from '../support/etcd.js';
import { repoRoot, spawnMeridian, tempZones, waitFor, type MeridianProcess } from '../support/tools.js';
import { localToken } from '../support/api.js';

const WRITE = 'w'.repeat(32);
const READ = 'r'.repeat(32);
const seen = new Set<string>();
const procs: MeridianProcess[] = [];
const dirs: string[] = [];
let etcd: TestEtcd | undefined;

afterAll(async () => {
  for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  await etcd?.destroy();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

interface Answer {
  status: number;
  type: string | null;
  body: { type?: string; title?: string; status?: number; code?: string; detail?: string; errors?: unknown[] } & Record<string, unknown>;
}

async function call(url: string, init: RequestInit & { token?: string; json?: unknown } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...(init.headers as Record<string, string> | undefined) };
  if (init.token) headers['authorization'] = `Bearer ${init.token}`;
  if (init.json !== undefined) headers['content-type'] ??= 'application/json';
  const res = await fetch(url, { ...init, headers, ...(init.json !== undefined ? { body: JSON.stringify(init.json) } : {}) });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type'), body: text ? (JSON.parse(text) as Answer['body']) : {} };
}

/**
 * `a` is the problem of `code`: its registry status, the code, a detail, and as title the
 * registry's (or, where the API names the situation more precisely, `title`).
 */
function expectProblem(a: Answer, code: ErrorCode, title: string = codes[code].title): void {
  expect(a.type, JSON.stringify(a.body)).toContain('application/problem+json');
  expect(a.status, JSON.stringify(a.body)).toBe(codes[code].statusCode);
  expect(a.body).toMatchObject({ type: 'about:blank', status: codes[code].statusCode, title, code });
  expect(typeof a.body.detail).toBe('string');
  seen.add(code);
}

describe('a single node: each refusal with its own code', () => {
  let api: string;
  let doc: Record<string, unknown>;
  beforeAll(async () => {
    const zones = tempZones();
    dirs.push(zones);
    const p = await spawnMeridian(['--zones', zones], { MERIDIAN_TOKENS: `ops:write:${WRITE},viewer:read:${READ}` });
    procs.push(p);
    api = `http://127.0.0.1:${p.adminPort}`;
    doc = (await call(`${api}/v1/zones/gslb.example.org`, { token: READ })).body;
  });

  it('MRD_ERR_API_UNAUTHORIZED: no token', async () => {
    expectProblem(await call(`${api}/v1/zones`), 'MRD_ERR_API_UNAUTHORIZED');
  });

  it('MRD_ERR_API_FORBIDDEN: a read-only token writes', async () => {
    expectProblem(await call(`${api}/v1/zones`, { method: 'POST', token: READ, json: doc }), 'MRD_ERR_API_FORBIDDEN');
  });

  it('MRD_ERR_API_BAD_REQUEST: a zone document with a bad field names it in errors[]', async () => {
    const a = await call(`${api}/v1/zones`, { method: 'POST', token: WRITE, json: { ...doc, zone: 'bad.test', tll: 300 } });
    expectProblem(a, 'MRD_ERR_API_BAD_REQUEST', 'The request body is not valid');
    expect(JSON.stringify(a.body.errors)).toContain('tll');
  });

  it('MRD_ERR_API_NOT_FOUND: a zone that is not served', async () => {
    expectProblem(await call(`${api}/v1/zones/nope.example`, { token: READ }), 'MRD_ERR_API_NOT_FOUND', 'No such zone');
  });

  it('MRD_ERR_API_CONFLICT: creating a zone that exists', async () => {
    expectProblem(await call(`${api}/v1/zones`, { method: 'POST', token: WRITE, json: doc }), 'MRD_ERR_API_CONFLICT', 'The zone exists');
  });

  it('MRD_ERR_API_PRECONDITION: If-Match with a stale ETag; the zone is unchanged', async () => {
    const before = await fetch(`${api}/v1/zones/gslb.example.org`, { headers: { authorization: `Bearer ${READ}` } });
    const a = await call(`${api}/v1/zones/gslb.example.org`, { method: 'PUT', token: WRITE, json: doc, headers: { 'if-match': '"1-000000000000"' } });
    expectProblem(a, 'MRD_ERR_API_PRECONDITION');
    const after = await fetch(`${api}/v1/zones/gslb.example.org`, { headers: { authorization: `Bearer ${READ}` } });
    expect(after.headers.get('etag')).toBe(before.headers.get('etag'));
  });

  it('MRD_ERR_API_TOO_LARGE: a body over the 1 MiB limit', async () => {
    const big = { ...doc, records: [{ name: 'big', type: 'TXT', value: `"${'x'.repeat(200)}"` }], pad: 'x'.repeat(1.2 * 2 ** 20) };
    expectProblem(await call(`${api}/v1/zones`, { method: 'POST', token: WRITE, json: big }), 'MRD_ERR_API_TOO_LARGE');
  });

  it('MRD_ERR_API_MEDIA_TYPE: a body that is not JSON', async () => {
    expectProblem(
      await call(`${api}/v1/zones`, { method: 'POST', token: WRITE, body: '<zone/>', headers: { 'content-type': 'application/xml' } }),
      'MRD_ERR_API_MEDIA_TYPE',
    );
  });

  it('MRD_ERR_API_MASTER_FILE: a region for a zone kept as a master file (422); the file is unchanged', async () => {
    const a = await call(`${api}/v1/zones/example.net/regions`, {
      method: 'POST',
      token: WRITE,
      json: { id: 'eu', location: { lat: 50, lon: 8 }, country: 'DE' },
    });
    expectProblem(a, 'MRD_ERR_API_MASTER_FILE');
    expect(JSON.stringify(a.body.errors)).toContain('regions');
  });

  it('MRD_ERR_API_RATE_LIMITED: repeated bad tokens from one address', async () => {
    let last: Answer | undefined;
    for (let i = 0; i < 12; i++) last = await call(`${api}/v1/zones`, { token: 'wrong-token-wrong-token' });
    expectProblem(last!, 'MRD_ERR_API_RATE_LIMITED');
  });
});

describe('a cluster node whose etcd is stopped', () => {
  beforeAll(async () => {
    if (!hasEtcd) throw new Error('etcd-server is not installed (.ci/run installs it)');
    etcd = await startEtcd();
  }, 30_000);

  it('MRD_ERR_API_UNAVAILABLE: a record write is 503 and changes nothing', async () => {
    const prefix = `/problems-${process.pid}`;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-problems-'));
    dirs.push(dir);
    fs.writeFileSync(
      path.join(dir, 'pc.test.yaml'),
      'zone: pc.test\nsoa: { mname: ns1, rname: hostmaster, serial: 1, refresh: 1h, retry: 10m, expire: 1w, minimum: 5 }\nns: [ns1]\nrecords:\n  - { name: ns1, type: A, value: 192.0.2.53 }\n',
    );
    const imported = await new Promise<number | null>((resolve) =>
      spawn(process.execPath, [path.join(repoRoot, 'dist/main.js'), 'cluster', 'import', '--etcd', etcd!.url, '--etcd-prefix', prefix, '--zones', dir], {
        stdio: 'ignore',
      }).on('exit', resolve),
    );
    expect(imported).toBe(0);
    const n = await spawnMeridian(['--etcd', etcd!.url, '--etcd-prefix', prefix, '--node-id', 'pc1', '--region', 'eu', '--lease-ttl', '2']);
    procs.push(n);
    const api = `http://127.0.0.1:${n.adminPort}`;
    const before = await waitFor(async () => {
      const r = await fetch(`${api}/v1/zones/pc.test`);
      return r.status === 200 ? r.headers.get('etag') : null;
    });
    await etcd!.stop();
    await waitFor(async () => ((await (await fetch(`${api}/readyz`)).json()) as { status: string }).status === 'degraded', 15_000);
    const a = await call(`${api}/v1/zones/pc.test/records`, {
      method: 'POST',
      token: localToken(n.tokenFile),
      json: { name: 'down', type: 'A', value: '198.51.100.9' },
    });
    expectProblem(a, 'MRD_ERR_API_UNAVAILABLE');
    expect(a.body.detail).toContain('nothing was changed');
    expect((await fetch(`${api}/v1/zones/pc.test`)).headers.get('etag')).toBe(before);
  }, 60_000);
});

describe('coverage', () => {
  it('every MRD_ERR_API_* code of the registry was produced by a request above', () => {
    expect(Object.keys(codes).filter((c) => c.startsWith('MRD_ERR_API_') && !seen.has(c))).toEqual([]);
  });
});
