/**
 * @module model/zone-schema
 * The shape of a Meridian YAML zone document, as TypeBox (JSON Schema) schemas, and the one
 * place that checks a value against them and puts the failures into words an operator reads.
 *
 * zone/yaml-zone.ts validates every `*.yaml` zone file with {@link validateZoneDocument}; the
 * admin API will validate request bodies with the same schemas, and the schemas are kept plain
 * (no `$ref`, no `$id`, a `description` on every property) so that they can become an OpenAPI
 * description as they are.
 *
 * The schemas check shape and ranges only. What needs DNS knowledge (names, record types, RDATA,
 * address lists, the value of a duration string) is checked by zone/yaml-zone.ts afterwards.
 *
 * Schemas may carry one extension keyword, `x-error`: the reason to give, in words, when a value
 * fails a keyword that has no natural wording of its own (`anyOf`, `oneOf`, `pattern`). OpenAPI
 * allows `x-` extensions, and the validator here registers it as an annotation.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
export { DURATION_PATTERN, Duration, MAX_U32 } from './duration.js';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { MAX_TTL } from '../proto/duration.js';
import { Duration, MAX_U32 } from './duration.js';
import { LatencyRowEntry, PolicyRecordEntry, PoolEntry, RegionEntry } from './policy-schema.js';
import { CheckEntry } from './health-schema.js';

/**
 * A domain name in presentation form: relative to the zone, `@` for the apex, or absolute with a
 * trailing dot. Each name-valued property gets its own copy so that it can carry its own description.
 */
export function DomainName(description: string) {
  return Type.String({
    minLength: 1,
    title: 'DomainName',
    description: `${description} Master-file presentation form (RFC 1035 §5.1): relative to the zone origin, \`@\` for the origin itself, or absolute with a trailing dot; \`\\.\` and \`\\DDD\` escapes are allowed.`,
  });
}

/** The zone's SOA record (RFC 1035 §3.3.13), always owned by the zone apex. */
export const SoaFields = Type.Object(
  {
    mname: DomainName('MNAME: the primary name server.'),
    rname: DomainName('RNAME: the mailbox of the person responsible, with the `@` written as a dot (`hostmaster.example.org.`).'),
    serial: Type.Integer({ minimum: 0, maximum: MAX_U32, description: `SERIAL: the zone version, 0 to ${MAX_U32} (RFC 1982 serial arithmetic).` }),
    refresh: Duration('REFRESH: how often secondaries check the serial.', MAX_U32),
    retry: Duration('RETRY: how long a secondary waits after a failed refresh.', MAX_U32),
    expire: Duration('EXPIRE: how long a secondary keeps serving without a successful refresh.', MAX_U32),
    minimum: Duration('MINIMUM: the TTL of negative answers (NXDOMAIN, NODATA), RFC 2308 §4; the SOA TTL caps it (RFC 2308 §5).', MAX_U32),
    ttl: Type.Optional(Duration('TTL of the SOA record itself. Default: the zone `ttl`.')),
  },
  { title: 'SoaFields', description: 'The SOA record at the zone apex (RFC 1035 §3.3.13).', additionalProperties: false },
);
export type SoaFields = Static<typeof SoaFields>;

/** Zone transfer (AXFR, RFC 5936) settings. */
export const TransferSettings = Type.Object(
  {
    allow: Type.Optional(
      Type.Array(Type.String({ minLength: 1, description: 'An IPv4 or IPv6 address, or a CIDR block (`192.0.2.0/24`, `2001:db8::/32`).' }), {
        description: 'Clients that may AXFR the zone. Omitted: loopback only (`127.0.0.0/8`, `::1/128`). An empty list: nobody.',
      }),
    ),
  },
  { title: 'TransferSettings', description: 'Zone transfer (AXFR, RFC 5936) access.', additionalProperties: false },
);
export type TransferSettings = Static<typeof TransferSettings>;

/** One RRset's worth of plain records: an owner, a type, and one or more RDATA strings. */
export const RecordEntry = Type.Object(
  {
    name: DomainName('Owner name (`www`, `*.edge`, `@`, `host.example.org.`).'),
    type: Type.String({ minLength: 1, description: 'Record type mnemonic (`A`, `AAAA`, `MX`, ...) or `TYPEnnn` (RFC 3597).' }),
    ttl: Type.Optional(Duration('TTL of these records. Default: the zone `ttl`.')),
    value: Type.Optional(
      Type.String({ description: 'One record\'s RDATA in RFC 1035 presentation form (`192.0.2.1`, `10 mail`, `"v=spf1 -all"`). Give `value` or `values`, not both.' }),
    ),
    values: Type.Optional(
      Type.Array(Type.String({ description: 'One record\'s RDATA in RFC 1035 presentation form.' }), {
        minItems: 1,
        description: 'Several records of the same owner and type, one RDATA string each. Give `value` or `values`, not both.',
      }),
    ),
  },
  {
    title: 'RecordEntry',
    description: 'Plain records of one owner and type. Exactly one of `value` and `values` is required.',
    additionalProperties: false,
    oneOf: [{ required: ['value'] }, { required: ['values'] }],
    'x-error': 'must have exactly one of "value" (one RDATA string) or "values" (a list of them)',
  },
);
export type RecordEntry = Static<typeof RecordEntry>;

/** A whole Meridian YAML zone file. */
export const ZoneDocument = Type.Object(
  {
    zone: Type.String({ minLength: 1, description: 'The zone origin, always absolute; the trailing dot is optional (`gslb.example.org`).' }),
    ttl: Type.Optional(Duration('Default TTL for records that give none. Default: 3600.')),
    soa: SoaFields,
    ns: Type.Array(DomainName('A name server of the zone.'), {
      minItems: 1,
      description: 'The apex NS RRset: the zone\'s name servers. At least one.',
    }),
    transfer: Type.Optional(TransferSettings),
    records: Type.Optional(Type.Array(RecordEntry, { description: 'Plain records (RRsets) of the zone.' })),
    regions: Type.Optional(Type.Array(RegionEntry, { description: 'Regions: where capacity lives.' })),
    pools: Type.Optional(Type.Array(PoolEntry, { description: 'Pools of endpoints that policy records answer from.' })),
    policies: Type.Optional(Type.Array(PolicyRecordEntry, { description: 'Policy records: names answered per query by a policy tree.' })),
    latency: Type.Optional(Type.Array(LatencyRowEntry, { description: 'Latency table rows for the latency policy.' })),
    checks: Type.Optional(Type.Array(CheckEntry, { description: 'Health checks that pools and endpoints refer to (docs/health.md).' })),
  },
  { title: 'ZoneDocument', description: 'A Meridian zone: origin, SOA, apex NS, transfer ACL, records, and the regions, pools and policy records of load balancing.', additionalProperties: false },
);
export type ZoneDocument = Static<typeof ZoneDocument>;

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

/** Compiles (once per schema object) a validator for any of the schemas in this module. */
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

/** Checks a parsed YAML zone document against {@link ZoneDocument}. */
export function validateZoneDocument(data: unknown): SchemaProblem[] {
  return validateAgainst(ZoneDocument, data);
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
