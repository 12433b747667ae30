/**
 * @module validation/validate
 * The one place that checks a value against a TypeBox (JSON Schema) schema and puts the failures
 * into words an operator reads: `records[2].ttl: must be ...`. Generic: it knows no schema of its
 * own, so the zone document (model/zone-schema.ts), the policy and check schemas
 * (policy/schema.ts, checks/schema.ts) and the latency file (state/latency-file.ts) all use it.
 *
 * Schemas may carry one extension keyword, `x-error`: the reason to give, in words, when a value
 * fails a keyword that has no natural wording of its own (`anyOf`, `oneOf`, `pattern`). OpenAPI
 * allows `x-` extensions, and the validator here registers it as an annotation.
 */
import type { TSchema } from '@sinclair/typebox';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { MAX_TTL } from '../proto/duration.js';

/** One step of a path into a document: an object key or an array index. */
export type PathSegment = string | number;

/** One way a value fails a schema, in words. */
export interface SchemaProblem {
  /** Where the problem is: the offending value, or for a missing field the object that lacks it. */
  path: PathSegment[];
  /** For a missing or unknown field: its name (the key lives in the object at `path`). */
  key?: string;
  /** Whether the field is missing or unknown, or its value is wrong. */
  kind: 'missing' | 'unknown' | 'value';
  /** `path: reason`, e.g. `records[2].ttl: must be ...` or `soa: missing required field "serial"`. */
  message: string;
  /** True when a TTL field holds a number outside 0..2^31-1 (RFC 2181 §8), so callers can say so. */
  ttlRange: boolean;
}

/** Formats a path as an operator writes it: `records[2].ttl`; the root is `''`. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? seg : `.${seg}`;
  }
  return out;
}

function newAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, verbose: true, strictTypes: false });
  ajv.addKeyword({ keyword: 'x-error', schemaType: 'string' });
  return ajv;
}

let ajv: Ajv | undefined;
const compiled = new WeakMap<TSchema, ValidateFunction>();

/** Compiles (once per schema object) a validator for any schema. */
export function compileSchema(schema: TSchema): ValidateFunction {
  let fn = compiled.get(schema);
  if (!fn) {
    ajv ??= newAjv();
    fn = ajv.compile(schema);
    compiled.set(schema, fn);
  }
  return fn;
}

/**
 * Checks `data` against `schema` and returns every problem, in words, one per field and reason
 * (ajv's raw errors for the branches of a union are folded into one). Empty when valid.
 */
export function validateAgainst(schema: TSchema, data: unknown): SchemaProblem[] {
  const validate = compileSchema(schema);
  if (validate(data)) return [];
  return describeErrors(validate.errors ?? []);
}

function parsePointer(pointer: string): PathSegment[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^(?:0|[1-9][0-9]*)$/.test(s) ? Number(s) : s));
}

function kindOf(value: unknown): string {
  if (value === null) return 'empty';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  if (typeof value === 'string') return `the text "${value}"`;
  return String(value);
}

const TYPE_WORDS: Record<string, string> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a map of fields',
  null: 'empty',
};

/** Words for "the value must be...", from the schema that rejected it. */
function expectation(schema: Record<string, unknown>): string {
  const type = schema['type'];
  if (type === 'integer' || type === 'number') {
    const min = schema['minimum'];
    const max = schema['maximum'];
    const noun = type === 'integer' ? 'an integer' : 'a number';
    if (typeof min === 'number' && typeof max === 'number') return `must be ${noun} from ${min} to ${max}`;
    if (typeof min === 'number') return `must be ${noun} of at least ${min}`;
    if (typeof max === 'number') return `must be ${noun} of at most ${max}`;
    return `must be ${noun}`;
  }
  if (typeof type === 'string') return `must be ${TYPE_WORDS[type] ?? type}`;
  return 'has the wrong form';
}

function editDistance(a: string, b: string): number {
  const d: number[] = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0]!;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = d[j]!;
      d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return d[b.length]!;
}

function suggestion(key: string, schema: Record<string, unknown>): string {
  const props = schema['properties'];
  if (!props || typeof props !== 'object') return '';
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of Object.keys(props)) {
    const dist = editDistance(key.toLowerCase(), candidate);
    if (dist < bestDistance) {
      best = candidate;
      bestDistance = dist;
    }
  }
  return best !== undefined && bestDistance <= 2 && bestDistance < key.length ? ` (did you mean "${best}"?)` : '';
}

function prefixed(path: readonly PathSegment[], reason: string): string {
  const where = formatPath(path);
  return where === '' ? reason : `${where}: ${reason}`;
}

/** Folds ajv's errors into one {@link SchemaProblem} per field and reason. */
function describeErrors(errors: readonly ErrorObject[]): SchemaProblem[] {
  // Errors inside the branches of a union only explain why the union failed; the union's own
  // error (worded from its `x-error`) stands for them.
  const unions = errors.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf').map((e) => e.schemaPath + '/');
  // A value of the wrong kind gets only "must be a ..."; its other failures (a union or `oneOf`
  // over the fields of an object that is not an object) would only confuse.
  const wrongKind = new Set(errors.filter((e) => e.keyword === 'type' && !unions.some((u) => e.schemaPath.startsWith(u))).map((e) => e.instancePath));
  const problems: SchemaProblem[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    if (unions.some((u) => e.schemaPath.startsWith(u))) continue;
    if (wrongKind.has(e.instancePath) && e.keyword !== 'type') continue;
    const path = parsePointer(e.instancePath);
    const parent = (e.parentSchema ?? {}) as Record<string, unknown>;
    let problem: SchemaProblem;
    if (e.keyword === 'required') {
      const key = String((e.params as { missingProperty: string }).missingProperty);
      problem = { path, key, kind: 'missing', message: prefixed(path, `missing required field "${key}"`), ttlRange: false };
    } else if (e.keyword === 'additionalProperties') {
      const key = String((e.params as { additionalProperty: string }).additionalProperty);
      problem = { path, key, kind: 'unknown', message: prefixed(path, `unknown field "${key}"${suggestion(key, parent)}`), ttlRange: false };
    } else {
      const data = e.data;
      const ttlRange = path.at(-1) === 'ttl' && typeof data === 'number' && Number.isInteger(data) && (data < 0 || data > MAX_TTL);
      let reason: string;
      if (ttlRange) {
        reason = `must be from 0 to ${MAX_TTL} seconds (RFC 2181 §8), not ${data}`;
      } else if (typeof parent['x-error'] === 'string' && ['anyOf', 'oneOf', 'pattern', 'format', 'minProperties', 'maxProperties'].includes(e.keyword)) {
        reason = parent['x-error'];
        if (!['oneOf', 'minProperties', 'maxProperties'].includes(e.keyword)) reason += `, not ${kindOf(data)}`;
      } else if (e.keyword === 'minLength' && parent['minLength'] === 1) {
        reason = 'must not be empty';
      } else if (e.keyword === 'minItems') {
        const n = Number(parent['minItems']);
        reason = `must list at least ${n} item${n === 1 ? '' : 's'}`;
      } else if (e.keyword === 'enum' || e.keyword === 'const') {
        const allowed = (parent['enum'] as unknown[] | undefined) ?? [parent['const']];
        reason = `must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`;
      } else {
        reason = expectation(parent);
        if (e.keyword === 'type') {
          reason += `, not ${kindOf(data)}`;
          if (parent['type'] === 'string' && (typeof data === 'number' || typeof data === 'boolean')) reason += ' (quote it)';
        }
      }
      problem = { path, kind: 'value', message: prefixed(path, reason), ttlRange };
    }
    // A value out of an integer's range fails `type`, `minimum` or `maximum`; say it once.
    const dedupe = `${formatPath(problem.path)}\u0000${problem.kind}\u0000${problem.key ?? ''}\u0000${problem.kind === 'value' ? '' : problem.message}`;
    if (seen.has(dedupe)) continue;
    seen.add(dedupe);
    problems.push(problem);
  }
  return problems;
}
