/**
 * Every error code in src/errors.ts is documented in docs/errors.md, and every code documented
 * there still exists (fastify's test/internals/errors.test.js does the same); every registered
 * code is raised somewhere in src/; the registry gives each its status and title; createError
 * is type-checked.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { codes, createError, createErrorCausedBy, fieldError, zoneError } from './errors.js';

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

/** The product's source files outside errors.ts (tests and this registry left out). */
function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = path.join(dir, d.name);
    if (d.isDirectory()) return sourceFiles(p);
    return d.name.endsWith('.ts') && !d.name.endsWith('.test.ts') && p !== path.join(src, 'errors.ts') ? [p] : [];
  });
}
const src = path.resolve(import.meta.dirname);
// Comments name codes too ("throws MRD_ERR_CLI_USAGE"); only a quoted literal in code counts as raising one.
const withoutComments = (text: string) => text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
const used = new Set(sourceFiles(src).flatMap((f) => [...withoutComments(fs.readFileSync(f, 'utf8')).matchAll(/'(MRD_ERR_[A-Z0-9_]+)'/g)].map((m) => m[1]!)));

describe('every registered code is raised', () => {
  it.each(Object.keys(codes))('%s is used in src/ outside errors.ts', (code) => {
    expect(used.has(code)).toBe(true);
  });

  it('src/ uses no code that is not registered', () => {
    expect([...used].filter((c) => !(c in codes))).toEqual([]);
  });
});

describe('the registry gives each code its status and title', () => {
  it.each(Object.entries(codes))('%s has an HTTP status and a title', (_code, info) => {
    expect(info.statusCode).toBeGreaterThanOrEqual(400);
    expect(info.statusCode).toBeLessThan(600);
    expect(info.title.length).toBeGreaterThan(0);
  });

  it('an error takes its status and title from its code', () => {
    const e = createError('MRD_ERR_API_PRECONDITION', 'If-Match "x" does not match');
    expect([e.code, e.statusCode, e.title, e.message]).toEqual([
      'MRD_ERR_API_PRECONDITION',
      412,
      codes.MRD_ERR_API_PRECONDITION.title,
      'If-Match "x" does not match',
    ]);
    expect(e.errors).toEqual([]);
    const f = fieldError('MRD_ERR_API_BAD_REQUEST', 'bad', [{ field: 'ttl', code: 'MRD_ERR_ZONE_TTL', message: 'ttl: too big' }]);
    expect(f.errors).toEqual([{ field: 'ttl', code: 'MRD_ERR_ZONE_TTL', message: 'ttl: too big' }]);
    expect(createErrorCausedBy(new Error('boom'), 'MRD_ERR_ETCD', 'unreachable').cause).toEqual(new Error('boom'));
  });

  it('createError is type-checked: the code must be registered and the arguments match its template', () => {
    // Checked by `tsc --noEmit` (the suite's type check): each line must be a type error.
    const refusedByTsc = () => [
      // @ts-expect-error not a registered code
      createError('MRD_ERR_NO_SUCH_CODE', 'x'),
      // @ts-expect-error MRD_ERR_LISTEN's template has two %s
      createError('MRD_ERR_LISTEN', 'udp 127.0.0.1:53'),
      // @ts-expect-error MRD_ERR_API_NOT_FOUND's template has one %s
      createError('MRD_ERR_API_NOT_FOUND', 'a', 'b'),
      // @ts-expect-error an argument is a string or a number
      createError('MRD_ERR_CONFIG', { not: 'text' }),
    ];
    expect(typeof refusedByTsc).toBe('function');
    expect(createError('MRD_ERR_LISTEN', 'udp 127.0.0.1:53', 'EADDRINUSE').message).toBe('cannot listen on udp 127.0.0.1:53: EADDRINUSE');
  });
});
