/**
 * policy/registry.ts: adding a policy kind is one module in policy/kinds/, one line in the
 * registry and one page in docs/policies/ (docs/policies/README.md "Adding a policy kind"). This
 * checks that the three agree, and that the zone schema's node schemas are the registry's.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { NODE_SCHEMAS, PolicyNodeRef } from './schema.js';
import { POLICY_KINDS, policyKind } from './registry.js';

const root = path.resolve(import.meta.dirname, '../..');
const names = POLICY_KINDS.map((k) => k.name);

describe('policy registry', () => {
  it('lists every module of policy/kinds/ once, under the name its module gives', () => {
    const modules = fs
      .readdirSync(path.join(root, 'src/policy/kinds'))
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
      .map((f) => f.slice(0, -3));
    expect([...names].sort()).toEqual(modules.sort());
    expect(new Set(names).size).toBe(names.length);
    for (const n of names) expect(policyKind(n)?.name).toBe(n);
    expect(policyKind('bogus')).toBeUndefined();
  });

  it('every kind has its page in docs/policies/ and a row in the README table (use is described there)', () => {
    const readme = fs.readFileSync(path.join(root, 'docs/policies/README.md'), 'utf8');
    for (const n of names) {
      if (n === 'use') expect(readme).toContain('| `use` |');
      else {
        expect(fs.existsSync(path.join(root, `docs/policies/${n}.md`)), `docs/policies/${n}.md`).toBe(true);
        expect(readme, n).toContain(`| \`${n}\` |`);
        expect(readme).toContain(`[${n}.md](${n}.md)`);
      }
    }
  });

  it("the zone schema checks each node against its kind's own schema, in registry order", () => {
    expect(Object.keys(NODE_SCHEMAS)).toEqual(names);
    const ref = PolicyNodeRef('x') as unknown as { description: string; 'x-error': string };
    for (const n of names) {
      expect(ref.description).toContain(`\`${n}\``);
      expect(ref['x-error']).toContain(n);
    }
  });
});

describe('a node named after no kind', () => {
  it('is an unknown policy, even when the name is an Object.prototype property', async () => {
    const { loadZoneText } = await import('../zone/load.js');
    for (const name of ['bogus', 'constructor', 'toString', '__proto__']) {
      const text = [
        'zone: k.test',
        'soa: { mname: ns1, rname: hostmaster, serial: 1, refresh: 1h, retry: 10m, expire: 1w, minimum: 5 }',
        'ns: [ns1]',
        'records: [ { name: ns1, type: A, value: 192.0.2.53 } ]',
        'policies:',
        `  - { name: www, type: A, policy: { ${JSON.stringify(name)}: x } }`,
        '',
      ].join('\n');
      const r = loadZoneText(text, 'k.test.yaml');
      expect(r.ok, name).toBe(false);
      if (!r.ok)
        expect(
          r.errors.map((e) => e.message),
          name,
        ).toEqual([`policies[0].policy: unknown policy "${name}" (one of ${names.join(', ')})`]);
    }
  });
});
