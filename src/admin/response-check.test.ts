/**
 * The response self-check (MERIDIAN_CHECK_RESPONSES) on a small fastify app: it passes what
 * matches its documentation and names each way a response can break it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { afterEach, describe, expect, it } from 'vitest';
import { installResponseCheck, type ResponseCheckLine } from './response-check.js';
import { noContent, problems, text } from './api-schemas.js';
import { refuse } from './problem.js';

const files: string[] = [];
afterEach(() => {
  for (const f of files.splice(0)) fs.rmSync(f, { force: true });
});

async function linesFor(register: (app: FastifyInstance) => void, urls: string[]): Promise<ResponseCheckLine[]> {
  const file = path.join(os.tmpdir(), `meridian-check-${process.pid}-${Math.random().toString(36).slice(2)}.jsonl`);
  files.push(file);
  const app = Fastify() as unknown as FastifyInstance;
  installResponseCheck(app, file);
  register(app);
  for (const url of urls) await app.inject(url);
  await app.close();
  return fs.existsSync(file)
    ? fs
        .readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as ResponseCheckLine)
    : [];
}

const Thing = Type.Object({ id: Type.String(), n: Type.Integer() });

describe('response check', () => {
  it('passes documented responses: JSON, problems, text, no content; each route and status once', async () => {
    const lines = await linesFor(
      (app) => {
        app.get('/thing', { schema: { response: { 200: Thing, ...problems(404) } } }, async () => ({ id: 'a', n: 1 }));
        app.get('/missing', { schema: { response: { 200: Thing, ...problems(404) } } }, async (_req, reply) =>
          refuse(reply, 'MRD_ERR_API_NOT_FOUND', 'No such thing', 'none'),
        );
        app.get('/text', { schema: { response: { 200: text('text', 'text/plain') } } }, async (_req, reply) => reply.type('text/plain').send('hello'));
        app.delete('/thing', { schema: { response: { 204: noContent('gone') } } }, async (_req, reply) => reply.code(204).send());
      },
      ['/thing', '/thing', '/missing', '/text'],
    );
    expect(lines.map((l) => [l.route, l.status, l.type, l.ok])).toEqual([
      ['/thing', 200, 'application/json', true],
      ['/missing', 404, 'application/problem+json', true],
      ['/text', 200, 'text/plain', true],
    ]);
  });

  it('names an undocumented status, an undocumented media type, a body off its schema, and what serializing dropped', async () => {
    const lines = await linesFor(
      (app) => {
        app.get('/status', { schema: { response: { 200: Thing } } }, async (_req, reply) => reply.code(202 as 200).send({ id: 'a', n: 1 }));
        app.get('/media', { schema: { response: { 200: Thing } } }, async (_req, reply) => reply.type('text/plain').send('a'));
        app.get('/shape', { schema: { response: { 200: Type.Object({ id: Type.String({ minLength: 3 }) }) } } }, async () => ({ id: 'a' }));
        app.get('/dropped', { schema: { response: { 200: Thing } } }, async () => ({ id: 'a', n: 1, extra: 'lost' }));
      },
      ['/status', '/media', '/shape', '/dropped', '/nope'],
    );
    const bad = Object.fromEntries(lines.filter((l) => !l.ok).map((l) => [l.url, l.problem]));
    expect(bad['/status']).toBe('status 202 is not documented');
    expect(bad['/media']).toContain('media type text/plain is not documented');
    expect(bad['/shape']).toContain('the body does not match the schema: data/id must NOT have fewer than 3 characters');
    expect(bad['/dropped']).toContain('serializing changed the body at /extra');
    // The not-found handler's body is fastify's own here, not a problem: named as such.
    expect(bad['/nope']).toContain('media type application/json is not documented');
  });
});
