/**
 * Every error code in src/errors.ts is documented in docs/errors.md, and every code documented
 * there still exists (fastify's test/internals/errors.test.js does the same).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { codes, createError, zoneError } from './errors.js';

const doc = fs.readFileSync(path.resolve(import.meta.dirname, '../docs/errors.md'), 'utf8');
const documented = new Set([...doc.matchAll(/^### (MRD_ERR_[A-Z0-9_]+)/gm)].map((m) => m[1]!));

describe('error codes', () => {
  it.each(Object.keys(codes))('%s is documented in docs/errors.md', (code) => {
    expect(documented.has(code)).toBe(true);
  });

  it('docs/errors.md lists no code that is gone from the code', () => {
    expect([...documented].filter((c) => !(c in codes))).toEqual([]);
  });

  it('fills the message template and keeps a stable code', () => {
    const e = createError('MRD_ERR_ZONE_DUPLICATE', 'example.org', 'zones/a.zone');
    expect(e.code).toBe('MRD_ERR_ZONE_DUPLICATE');
    expect(e.message).toBe('zone "example.org" is already defined in zones/a.zone');
    expect(e.statusCode).toBe(409);
    const z = zoneError('MRD_ERR_ZONE_TTL', { file: 'z.zone', line: 7 }, ['2147483648 is over 2147483647'], 'www 2147483648 IN A 192.0.2.1');
    expect(z.format()).toBe('z.zone:7: bad TTL: 2147483648 is over 2147483647 (record: www 2147483648 IN A 192.0.2.1)');
  });
});
