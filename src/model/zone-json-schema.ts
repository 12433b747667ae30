/**
 * @module model/zone-json-schema
 * The zone document's JSON Schema as Meridian publishes it for editors and other tools: the file
 * `schema/zone.schema.json` (regenerate it with `npm run schema`) and `GET /v1/schema/zone.json`.
 * Both come from {@link zoneJsonSchema}, which is made from the TypeBox schemas that validate zone
 * files and request bodies (model/zone-schema.ts), so they cannot drift apart (a test compares the
 * committed file with this function's output).
 *
 * Two things differ from the schemas Meridian validates with, both for editors:
 *   - a policy tree is checked all the way down: every policy node is a `$ref` to one
 *     `definitions.PolicyNode`, a map with exactly one key whose value has the schema of that
 *     kind of node (policy-schema.ts `NODE_SCHEMAS`). Meridian itself checks nodes one by one in
 *     policy/compile.ts, against the same schemas, to give the path of a problem;
 *   - the `x-error` wording becomes `errorMessage`, the keyword editors using the VS Code JSON
 *     language service (yaml-language-server among them) show instead of their own message.
 */
import { NODE_SCHEMAS } from '../policy/schema.js';
import { ZoneDocument } from './zone-schema.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const POLICY_NODE_REF = '#/definitions/PolicyNode';

function transform(node: Json): Json {
  if (Array.isArray(node)) return node.map(transform);
  if (node === null || typeof node !== 'object') return node;
  if (node['title'] === 'PolicyNode') {
    return { $ref: POLICY_NODE_REF, ...(typeof node['description'] === 'string' ? { description: node['description'] } : {}) };
  }
  const out: Record<string, Json> = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === 'x-error') out['errorMessage'] = v;
    else if (k === 'properties' && v && typeof v === 'object' && !Array.isArray(v))
      out[k] = Object.fromEntries(Object.entries(v).map(([name, s]) => [name, transform(s)]));
    else out[k] = transform(v);
  }
  return out;
}

/** Plain JSON (TypeBox's symbol keys dropped). */
function plain(schema: unknown): Json {
  return JSON.parse(JSON.stringify(schema)) as Json;
}

/** The published JSON Schema (draft-07) of a zone document. */
export function zoneJsonSchema(): Record<string, Json> {
  const doc = transform(plain(ZoneDocument)) as Record<string, Json>;
  const kinds = Object.keys(NODE_SCHEMAS);
  const policyNode: Record<string, Json> = {
    title: 'PolicyNode',
    type: 'object',
    description: `A policy: a map with exactly one key naming its kind (${kinds.join(', ')}), docs/policies/.`,
    minProperties: 1,
    maxProperties: 1,
    additionalProperties: false,
    properties: Object.fromEntries(kinds.map((k) => [k, transform(plain(NODE_SCHEMAS[k]))])),
    errorMessage: `must be a policy: a map with exactly one of ${kinds.join(', ')}`,
  };
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $comment: 'Generated from src/model/*-schema.ts by `npm run schema`; do not edit. Served by the admin API at GET /v1/schema/zone.json.',
    ...doc,
    definitions: { PolicyNode: policyNode },
  };
}

/** The text of `schema/zone.schema.json`. */
export function zoneJsonSchemaText(): string {
  return `${JSON.stringify(zoneJsonSchema(), null, 2)}\n`;
}
