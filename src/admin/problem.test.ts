/**
 * The admin API's one error path (admin/problem.ts) on a small fastify app over a real socket:
 * a thrown MeridianError answers with its own code and the registry's status and title (a real
 * etcd client's MRD_ERR_ETCD, against a port nothing listens on, is 503 MRD_ERR_ETCD, not 500);
 * what fastify throws maps to the API's codes; anything else is 500 MRD_ERR_INTERNAL. Every
 * answer is checked against the Problem schema by the response check.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient } from '../cluster/etcd-client.js';
import { codes, zoneError, type ErrorCode } from '../errors.js';
import { silentLogger } from '../log.js';
import { problems } from './api-schemas.js';
import { errorHandler, notFoundHandler } from './problem.js';
import { installResponseCheck, type ResponseCheckLine } from './response-check.js';

const checkFile = path.join(os.tmpdir(), `meridian-problem-${process.pid}-${Math.random().toString(36).slice(2)}.jsonl`);
let app: FastifyInstance;
let base: string;
let etcd: EtcdClient;

/** A port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

beforeAll(async () => {
  etcd = new EtcdClient({ endpoints: [`http://127.0.0.1:${await closedPort()}`], log: silentLogger(), timeoutMs: 2000 });
  app = Fastify({ bodyLimit: 64 }) as unknown as FastifyInstance;
  installResponseCheck(app, checkFile);
  app.setErrorHandler(errorHandler(64));
  app.setNotFoundHandler(notFoundHandler);
  app.get('/etcd', { schema: { response: { 200: Type.Object({}), ...problems(503) } } }, async () => {
    await etcd.get('/meridian/anything');
    return {};
  });
  app.get('/zone', { schema: { response: { 200: Type.Object({}), ...problems(400) } } }, async () => {
    throw zoneError('MRD_ERR_ZONE_TTL', { file: 'z.yaml', line: 3 }, ['ttl: 2147483648 is over 2147483647']);
  });
  app.post(
    '/thing',
    { schema: { body: Type.Object({ n: Type.Integer() }, { additionalProperties: false }), response: { 200: Type.Object({}), ...problems(400, 413, 415) } } },
    async () => ({}),
  );
  app.get('/bug', { schema: { response: { 200: Type.Object({}), ...problems(500) } } }, async () => {
    throw new TypeError('undefined is not a function');
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as net.AddressInfo).port}`;
});

afterAll(async () => {
  await app?.close();
  await etcd?.close();
  fs.rmSync(checkFile, { force: true });
});

async function problemOf(url: string, init?: RequestInit): Promise<{ status: number; type: string | null; body: Record<string, unknown> }> {
  const res = await fetch(base + url, init);
  return { status: res.status, type: res.headers.get('content-type'), body: (await res.json()) as Record<string, unknown> };
}

/** The fields every problem of `code` has: the registry's status and title, and the code itself. */
function ofCode(code: ErrorCode) {
  return { type: 'about:blank', status: codes[code].statusCode, title: codes[code].title, code };
}

describe('admin/problem: a code in, its status and title out', () => {
  it('a thrown MRD_ERR_ETCD (a real client, etcd unreachable) is 503 MRD_ERR_ETCD, not 500', async () => {
    const p = await problemOf('/etcd');
    expect(p.status).toBe(503);
    expect(p.type).toContain('application/problem+json');
    expect(p.body).toMatchObject(ofCode('MRD_ERR_ETCD'));
    expect(p.body['detail']).toMatch(/^etcd: unreachable \(http:\/\/127\.0\.0\.1:\d+\): /);
  });

  it('a thrown zone error keeps its own code (400 MRD_ERR_ZONE_TTL)', async () => {
    const p = await problemOf('/zone');
    expect(p.body).toMatchObject({ ...ofCode('MRD_ERR_ZONE_TTL'), detail: 'bad TTL: ttl: 2147483648 is over 2147483647' });
  });

  it('what fastify throws maps to the API codes: validation, bad JSON, body limit, content type', async () => {
    const invalid = await problemOf('/thing', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ n: 'x' }) });
    expect(invalid.body).toMatchObject({ ...ofCode('MRD_ERR_API_BAD_REQUEST'), title: 'The request body is not valid' });
    expect((invalid.body['errors'] as unknown[]).length).toBeGreaterThan(0);
    const json = await problemOf('/thing', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"n":' });
    expect(json.body).toMatchObject({ ...ofCode('MRD_ERR_API_BAD_REQUEST'), title: 'The body is not valid JSON' });
    expect(json.body['title']).toBe('The body is not valid JSON');
    const large = await problemOf('/thing', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ n: 1, pad: 'x'.repeat(100) }),
    });
    expect(large.body).toMatchObject({ ...ofCode('MRD_ERR_API_TOO_LARGE'), detail: 'the limit is 64 bytes' });
    const media = await problemOf('/thing', { method: 'POST', headers: { 'content-type': 'application/xml' }, body: '<n>1</n>' });
    expect(media.body).toMatchObject(ofCode('MRD_ERR_API_MEDIA_TYPE'));
  });

  it('no route is 404 MRD_ERR_API_NOT_FOUND; an unexpected exception is 500 MRD_ERR_INTERNAL without its message', async () => {
    expect((await problemOf('/nothing')).body).toMatchObject({ ...ofCode('MRD_ERR_API_NOT_FOUND'), detail: 'no route GET /nothing' });
    const bug = await problemOf('/bug');
    expect(bug.body).toMatchObject({ ...ofCode('MRD_ERR_INTERNAL'), detail: 'the request failed; the node logged the details' });
  });

  it('every answer matched the Problem schema and its documented status', () => {
    const lines = fs
      .readFileSync(checkFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as ResponseCheckLine);
    expect(lines.filter((l) => !l.ok)).toEqual([]);
    expect(lines.map((l) => l.status).sort()).toEqual([400, 400, 404, 413, 415, 500, 503]);
  });
});
