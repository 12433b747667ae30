/**
 * The published zone JSON Schema (schema/zone.schema.json): the committed file is what the code
 * generates, every shipped YAML zone validates against it (as an editor would check it), and it
 * checks policy trees all the way down, refusing what Meridian refuses.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { zoneJsonSchema, zoneJsonSchemaText } from './zone-json-schema.js';
import { loadZoneText } from '../zone/load.js';

const root = path.resolve(import.meta.dirname, '../..');
const shipped = fs.readdirSync(path.join(root, 'zones')).filter((f) => f.endsWith('.yaml'));

function validator() {
  // Strict, as a careful tool would be: only the editors' `errorMessage` keyword is extra.
  const ajv = new Ajv({ allErrors: true, strictTypes: false });
  ajv.addKeyword({ keyword: 'errorMessage' });
  return ajv.compile(zoneJsonSchema());
}

describe('schema/zone.schema.json', () => {
  it('is what `npm run schema` generates from the TypeBox schemas', () => {
    expect(fs.readFileSync(path.join(root, 'schema/zone.schema.json'), 'utf8'), 'run `npm run schema` and commit the file').toBe(zoneJsonSchemaText());
  });

  it('every shipped YAML zone validates against it, and names it in its yaml-language-server modeline', () => {
    expect(shipped.length).toBeGreaterThan(0);
    const validate = validator();
    for (const f of shipped) {
      const text = fs.readFileSync(path.join(root, 'zones', f), 'utf8');
      expect(text.split('\n')[0], `${f}: first line`).toBe('# yaml-language-server: $schema=../schema/zone.schema.json');
      expect(validate(parse(text)), `${f}: ${JSON.stringify(validate.errors)}`).toBe(true);
      expect(loadZoneText(text, f).ok, `${f} loads in Meridian`).toBe(true);
    }
  });

  it('checks a policy tree all the way down: a bad node deep in a tree is refused, as Meridian refuses it', () => {
    const validate = validator();
    const text = fs.readFileSync(path.join(root, 'zones/gslb.example.org.yaml'), 'utf8');
    const good = parse(text) as { policies: { name: string; policy: unknown }[] };
    const deep = (policy: unknown) => ({ name: 'deep', type: 'A', policy: { failover: { tiers: [{ pool: 'app' }, policy] } } });
    const cases: [string, unknown][] = [
      ['an unknown kind of node', { roundrobin: { pool: 'app' } }],
      ['two kinds in one node', { pool: 'app', use: 'api' }],
      ['an unknown option of a node', { weighted: { pool: 'app', stickyy: true } }],
      ['weighted with both pool and children', { weighted: { pool: 'app', children: [{ weight: 1, policy: { pool: 'app' } }] } }],
      ['a bad id', { pool: 'App Pool' }],
    ];
    for (const [what, node] of cases) {
      const doc = structuredClone(good);
      doc.policies.push(deep(node) as never);
      expect(validate(doc), `${what}: the schema refuses it`).toBe(false);
      // The same zone as Meridian loads it (YAML is a superset of JSON).
      expect(loadZoneText(JSON.stringify(doc), 'gslb.example.org.yaml').ok, `${what}: Meridian refuses it too`).toBe(false);
    }
    const fine = structuredClone(good);
    fine.policies.push(
      deep({
        weighted: {
          children: [
            { weight: 2, policy: { pool: 'app' } },
            { weight: 1, policy: { use: 'app' } },
          ],
        },
      }) as never,
    );
    expect(validate(fine), JSON.stringify(validate.errors)).toBe(true);
    expect(loadZoneText(JSON.stringify(fine), 'gslb.example.org.yaml').ok).toBe(true);
  });
});
