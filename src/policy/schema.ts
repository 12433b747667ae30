/**
 * @module policy/schema
 * Schemas for the load-balancing parts of a Meridian YAML zone: regions, pools of endpoints,
 * policy records with their policy trees, and latency table rows (docs/zones.md, docs/policies/).
 *
 * A policy tree is recursive, and these schemas stay plain (no `$ref`, see model/zone-schema.ts),
 * so a child node is checked here only as "a map with one key"; policy/compile.ts checks each
 * node against the schema of its kind ({@link NODE_SCHEMAS}) and reports the path of the problem.
 * Each kind's option schema lives with the kind (policy/kinds/, listed in policy/registry.ts),
 * made of the pieces given here ({@link Id}, {@link PolicyNodeRef}).
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { POLICY_KINDS } from './registry.js';
import { Duration } from '../validation/duration.js';

const ID_PATTERN = '^[a-z0-9][a-z0-9_.-]{0,62}$';
const ID_ERROR = 'must be an id: lowercase letters, digits, ".", "_" and "-", starting with a letter or digit, at most 63 characters';

function Id(description: string) {
  return Type.String({ pattern: ID_PATTERN, description: `${description} Lowercase letters, digits, \`.\`, \`_\`, \`-\`.`, 'x-error': ID_ERROR });
}

/** The kinds as policy nodes' wording lists them: `use` (a reference, not a policy) last. */
function kindsInWords(): string[] {
  const names = POLICY_KINDS.map((k) => k.name);
  return [...names.filter((n) => n !== 'use'), 'use'];
}

/** A policy node: a map with exactly one key, the policy's kind (policy/registry.ts). */
export function PolicyNodeRef(description: string) {
  const kinds = kindsInWords();
  const quoted = kinds.map((k) => `\`${k}\``);
  return Type.Object(
    {},
    {
      title: 'PolicyNode',
      description: `${description} A map with exactly one key naming the policy: ${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}.`,
      additionalProperties: true,
      minProperties: 1,
      maxProperties: 1,
      'x-error': `must be a policy: a map with exactly one of ${kinds.join(', ')}`,
    },
  );
}

export const RegionEntry = Type.Object(
  {
    id: Id('Region id, used by endpoints, policies and overrides (`us-east`).'),
    name: Type.Optional(Type.String({ minLength: 1, description: 'Display name. Default: the id.' })),
    location: Type.Object(
      {
        lat: Type.Number({ minimum: -90, maximum: 90, description: 'Latitude in degrees.' }),
        lon: Type.Number({ minimum: -180, maximum: 180, description: 'Longitude in degrees.' }),
      },
      { additionalProperties: false, description: 'Where the region is, for latency estimates by distance.' },
    ),
    country: Type.String({
      pattern: '^[A-Za-z]{2}$',
      description: 'ISO 3166-1 alpha-2 country code.',
      'x-error': 'must be a two-letter ISO 3166-1 country code',
    }),
    continent: Type.Optional(
      Type.String({
        pattern: '^(AF|AN|AS|EU|NA|OC|SA)$',
        description: "Continent code (AF AN AS EU NA OC SA). Default: the country's.",
        'x-error': 'must be one of AF, AN, AS, EU, NA, OC, SA',
      }),
    ),
  },
  { title: 'Region', description: 'Where capacity lives.', additionalProperties: false },
);
export type RegionEntry = Static<typeof RegionEntry>;

export const EndpointEntry = Type.Object(
  {
    id: Type.Optional(Id('Endpoint id, unique in its pool. Default: the address or hostname.')),
    address: Type.Optional(Type.String({ minLength: 1, description: 'An IPv4 (answered as A) or IPv6 (AAAA) address. Give `address` or `hostname`.' })),
    hostname: Type.Optional(Type.String({ minLength: 1, description: 'A host name, answered as a CNAME. Give `address` or `hostname`.' })),
    region: Id('The region it is in.'),
    weight: Type.Optional(Type.Number({ minimum: 0, maximum: 1_000_000, description: 'Relative weight for `weighted` (default 1); 0 drains it.' })),
    check: Type.Optional(Type.String({ minLength: 1, description: "Health check id for this endpoint (overrides the pool's); `none` for no check." })),
  },
  {
    title: 'Endpoint',
    description: 'An address or hostname in a region.',
    additionalProperties: false,
    oneOf: [{ required: ['address'] }, { required: ['hostname'] }],
    'x-error': 'must have exactly one of "address" or "hostname"',
  },
);
export type EndpointEntry = Static<typeof EndpointEntry>;

export const PoolEntry = Type.Object(
  {
    id: Id('Pool id, which policies refer to.'),
    endpoints: Type.Array(EndpointEntry, { minItems: 1, description: 'The endpoints; a pool may not be empty.' }),
    check: Type.Optional(Type.String({ minLength: 1, description: 'Health check id for every endpoint of the pool.' })),
  },
  { title: 'Pool', description: 'A named group of endpoints.', additionalProperties: false },
);
export type PoolEntry = Static<typeof PoolEntry>;

export const AllDownSetting = Type.Union(
  [
    Type.Literal('serve_all', { description: "Fail open: answer every endpoint (Route 53's behaviour). The default." }),
    Type.Literal('serve_none', { description: 'Answer NODATA with the SOA.' }),
    Type.Object({ pool: Id('Fallback pool.') }, { additionalProperties: false, description: 'Answer from this pool.' }),
  ],
  { description: 'What to answer when the policy finds nothing usable.', 'x-error': 'must be serve_all, serve_none, or { pool: ID }' },
);

export const PolicyRecordEntry = Type.Object(
  {
    name: Type.String({ minLength: 1, description: 'Owner name, relative to the zone or absolute (`www`, `*.edge`, `@`).' }),
    type: Type.String({ pattern: '^(A|AAAA|CNAME|a|aaaa|cname)$', description: 'A, AAAA or CNAME.', 'x-error': 'must be A, AAAA or CNAME' }),
    ttl: Type.Optional(Duration('TTL of the answers. Default: 30 seconds.')),
    on_all_down: Type.Optional(AllDownSetting),
    policy: PolicyNodeRef('The policy tree.'),
  },
  { title: 'PolicyRecord', description: 'A name whose answer a policy chooses per query.', additionalProperties: false },
);
export type PolicyRecordEntry = Static<typeof PolicyRecordEntry>;

export const LatencyRowEntry = Type.Object(
  {
    from: Type.String({ minLength: 1, description: 'A client network (CIDR, `198.51.100.0/24`) or country (`DE`).' }),
    rtt_ms: Type.Record(Type.String(), Type.Number({ minimum: 0 }), { description: 'Region id → measured round-trip time in ms.' }),
  },
  { title: 'LatencyRow', description: 'Measured RTTs from a client network or country to regions.', additionalProperties: false },
);
export type LatencyRowEntry = Static<typeof LatencyRowEntry>;

// ---- the options of each kind of node ------------------------------------------------------

/** The schema of each kind's options, by kind, in registry order (each kind's module owns its own). */
export const NODE_SCHEMAS: Record<string, TSchema> = Object.fromEntries(POLICY_KINDS.map((k) => [k.name, k.schema({ id: Id, node: PolicyNodeRef })]));
