/**
 * Vitest setup (vitest.config.ts `setupFiles`): every admin API response any test gets is checked
 * against the schema the route documents in /openapi.json. It sets MERIDIAN_CHECK_RESPONSES to a
 * file of this test file's own, before the file's nodes start (in-process ones read it when
 * their admin app is built, spawned ones inherit it), so each node appends a line per route and
 * status it answered, and one per response that broke its documentation (admin/response-check.ts).
 * After the file's tests, any such line fails the file, and so does any 500: a serializer that
 * cannot write what a handler sent (a required property missing) ends in one.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect } from 'vitest';
import type { ResponseCheckLine } from '../../src/admin/response-check.js';

const file = path.join(os.tmpdir(), `meridian-responses-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.jsonl`);
process.env['MERIDIAN_CHECK_RESPONSES'] = file;

/** The lines written so far (a node killed mid-line leaves a torn last line: skipped). */
export function responseCheckLines(): ResponseCheckLine[] {
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').flatMap((l) => {
    try {
      return l ? [JSON.parse(l) as ResponseCheckLine] : [];
    } catch {
      return [];
    }
  });
}

afterAll(() => {
  // A 500 is documented (every route may fail), but in a test it is a bug all the same.
  const bad = responseCheckLines()
    .filter((l) => !l.ok || l.status === 500)
    .map((l) => (l.ok ? { ...l, problem: 'an internal error (500)' } : l));
  fs.rmSync(file, { force: true });
  expect(
    bad.map((l) => `${l.method} ${l.route ?? l.url} → ${l.status} ${l.type ?? ''}: ${l.problem}`),
    'admin API responses that do not match their OpenAPI documentation',
  ).toEqual([]);
});
