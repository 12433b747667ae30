/**
 * @module admin/openapi-components
 * Names the schemas of the OpenAPI document. @fastify/swagger writes every route's schemas
 * inline, so the Problem of each error status and the zone document of each zone route would be
 * copies, and a client generator would make a type of each. {@link hoistNamedSchemas} moves every
 * object schema with a `title` (TypeBox's, from model/*-schema.ts and admin/api-schemas.ts) into
 * `components/schemas/<title>` and puts a `$ref` where it was, so a generated client has one
 * `Problem`, one `ZoneDocument`, one `Endpoint`...
 *
 * A title is hoisted only when every schema with it is the same (descriptions aside: a `$ref`
 * carries none, OpenAPI 3.0 ignores siblings of `$ref`); `Duration`, which exists with two
 * ranges, stays inline, and so do the policy nodes, whose descriptions say where they sit.
 */

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

const KEEP_INLINE = new Set(['PolicyNode']);
const PREFIX = '#/components/schemas/';

function isObj(v: Json | undefined): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** A schema worth naming: an object or a union, with a title. */
function named(n: Obj): string | null {
  const title = n['title'];
  if (typeof title !== 'string' || KEEP_INLINE.has(title)) return null;
  return n['type'] === 'object' || Array.isArray(n['anyOf']) || Array.isArray(n['oneOf']) ? title : null;
}

function withoutDescription(n: Obj): string {
  const { description: _d, ...rest } = n;
  return JSON.stringify(rest);
}

/** Moves titled schemas of `doc.paths` into `doc.components.schemas`; returns the document. */
export function hoistNamedSchemas<T extends object>(doc: T): T {
  const d = doc as unknown as Obj;
  // Pass 1: every form each title takes.
  const forms = new Map<string, Set<string>>();
  const descriptions = new Map<string, Set<string | undefined>>();
  const scan = (n: Json): void => {
    if (Array.isArray(n)) return n.forEach(scan);
    if (!isObj(n)) return;
    const t = named(n);
    if (t) {
      (forms.get(t) ?? forms.set(t, new Set()).get(t)!).add(withoutDescription(n));
      (descriptions.get(t) ?? descriptions.set(t, new Set()).get(t)!).add(typeof n['description'] === 'string' ? n['description'] : undefined);
    }
    Object.values(n).forEach(scan);
  };
  scan(d['paths'] ?? null);
  const components = (((d['components'] ??= {}) as Obj)['schemas'] ??= {});
  const schemas = components as Obj;
  const hoisted = new Set<string>();
  const hoistable = (t: string) => forms.get(t)!.size === 1 && !(t in schemas && !hoisted.has(t));
  // Pass 2: replace, from the outside in (a component's own titled parts become refs too).
  const rewrite = (n: Json): Json => {
    if (Array.isArray(n)) return n.map(rewrite);
    if (!isObj(n)) return n;
    const t = named(n);
    const out: Obj = {};
    for (const [k, v] of Object.entries(n)) out[k] = rewrite(v);
    if (!t || !hoistable(t)) return out;
    if (!hoisted.has(t)) {
      const descs = descriptions.get(t)!;
      if (descs.size !== 1) delete out['description'];
      schemas[t] = out;
      hoisted.add(t);
    }
    return { $ref: `${PREFIX}${t}` };
  };
  d['paths'] = rewrite(d['paths'] ?? {});
  return doc;
}
