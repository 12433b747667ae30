/**
 * @module model/policy-schema
 * Schemas for the load-balancing parts of a Meridian YAML zone: regions, pools of endpoints,
 * policy records with their policy trees, and latency table rows (docs/zones.md, docs/policies/).
 *
 * A policy tree is recursive, and these schemas stay plain (no `$ref`, see model/zone-schema.ts),
 * so a child node is checked here only as "a map with one key"; policy/compile.ts checks each
 * node against the schema of its kind ({@link NODE_SCHEMAS}) and reports the path of the problem.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Duration } from './duration.js';

const ID_PATTERN = '^[a-z0-9][a-z0-9_.-]{0,62}$';
const ID_ERROR = 'must be an id: lowercase letters, digits, ".", "_" and "-", starting with a letter or digit, at most 63 characters';

function Id(description: string) {
  return Type.String({ pattern: ID_PATTERN, description: `${description} Lowercase letters, digits, \`.\`, \`_\`, \`-\`.`, 'x-error': ID_ERROR });
}

/** A policy node: a map with exactly one key, the policy's kind. */
export function PolicyNodeRef(description: string) {
  return Type.Object(
    {},
    {
      title: 'PolicyNode',
      description: `${description} A map with exactly one key naming the policy: \`pool\`, \`weighted\`, \`multivalue\`, \`failover\`, \`geo\`, \`latency\`, \`cidr\` or \`use\`.`,
      additionalProperties: true,
      minProperties: 1,
      maxProperties: 1,
      'x-error': 'must be a policy: a map with exactly one of pool, weighted, multivalue, failover, geo, latency, cidr, use',
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
    country: Type.String({ pattern: '^[A-Za-z]{2}$', description: 'ISO 3166-1 alpha-2 country code.', 'x-error': 'must be a two-letter ISO 3166-1 country code' }),
    continent: Type.Optional(
      Type.String({ pattern: '^(AF|AN|AS|EU|NA|OC|SA)$', description: 'Continent code (AF AN AS EU NA OC SA). Default: the country\'s.', 'x-error': 'must be one of AF, AN, AS, EU, NA, OC, SA' }),
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
    check: Type.Optional(Type.String({ minLength: 1, description: 'Health check id for this endpoint (overrides the pool\'s); `none` for no check.' })),
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
    Type.Literal('serve_all', { description: 'Fail open: answer every endpoint (Route 53\'s behaviour). The default.' }),
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

const StickyPrefixes = {
  sticky: Type.Optional(Type.Boolean({ description: 'Keep each client network on its endpoint (rendezvous hashing).' })),
  sticky_prefix_v4: Type.Optional(Type.Integer({ minimum: 0, maximum: 32, description: 'IPv4 prefix that identifies a client network for stickiness. Default 24.' })),
  sticky_prefix_v6: Type.Optional(Type.Integer({ minimum: 0, maximum: 128, description: 'IPv6 prefix for stickiness. Default 56.' })),
};

export const NODE_SCHEMAS: Record<string, TSchema> = {
  pool: Id('The pool whose usable endpoints all answer.'),
  use: Type.String({ minLength: 1, description: 'The name of another policy record of this zone whose tree to use here.' }),
  weighted: Type.Object(
    {
      pool: Type.Optional(Id('Pick one endpoint of this pool by weight.')),
      children: Type.Optional(
        Type.Array(
          Type.Object({ weight: Type.Number({ minimum: 0, description: 'Relative weight; 0 drains.' }), policy: PolicyNodeRef('The child policy.') }, { additionalProperties: false }),
          { minItems: 1, description: 'Pick one child policy by weight.' },
        ),
      ),
      ...StickyPrefixes,
    },
    { additionalProperties: false, oneOf: [{ required: ['pool'] }, { required: ['children'] }], 'x-error': 'must have exactly one of "pool" or "children"' },
  ),
  multivalue: Type.Object(
    { pool: Id('The pool.'), max: Type.Optional(Type.Integer({ minimum: 1, maximum: 64, description: 'Most endpoints in one answer. Default 8.' })) },
    { additionalProperties: false },
  ),
  failover: Type.Object(
    {
      tiers: Type.Array(PolicyNodeRef('A tier.'), { minItems: 1, description: 'Tiers in order of preference.' }),
      min_healthy: Type.Optional(Type.Integer({ minimum: 1, description: 'Usable endpoints a tier needs to answer. Default 1.' })),
    },
    { additionalProperties: false },
  ),
  geo: Type.Object(
    {
      branches: Type.Array(
        Type.Object(
          {
            match: Type.Object(
              {
                subdivisions: Type.Optional(Type.Array(Type.String(), { minItems: 1, description: 'ISO 3166-2 codes (`US-CA`).' })),
                countries: Type.Optional(Type.Array(Type.String(), { minItems: 1, description: 'ISO 3166-1 alpha-2 codes.' })),
                continents: Type.Optional(Type.Array(Type.String(), { minItems: 1, description: 'AF AN AS EU NA OC SA.' })),
              },
              { additionalProperties: false, minProperties: 1, 'x-error': 'must list subdivisions, countries or continents' },
            ),
            policy: PolicyNodeRef('What clients located there get.'),
          },
          { additionalProperties: false },
        ),
        { minItems: 1 },
      ),
      default: Type.Optional(PolicyNodeRef('What clients matching no branch get.')),
    },
    { additionalProperties: false },
  ),
  latency: Type.Object(
    {
      regions: Type.Array(
        Type.Object({ region: Id('A region.'), policy: PolicyNodeRef('What clients sent to that region get.') }, { additionalProperties: false }),
        { minItems: 1 },
      ),
      tolerance_ms: Type.Optional(Type.Number({ minimum: 0, description: 'Regions within this many ms of the best share the load. Default 0.' })),
    },
    { additionalProperties: false },
  ),
  cidr: Type.Object(
    {
      routes: Type.Array(
        Type.Object(
          { networks: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: 'IPv4/IPv6 networks in CIDR form.' }), policy: PolicyNodeRef('What clients in them get.') },
          { additionalProperties: false },
        ),
        { minItems: 1 },
      ),
      default: Type.Optional(PolicyNodeRef('What clients in no route get.')),
    },
    { additionalProperties: false },
  ),
};
