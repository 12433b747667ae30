/**
 * @module health/status-schema
 * JSON schemas of what the status view answers: `GET /v1/regions`, `GET /v1/regions/{id}` and
 * `GET /v1/regions/{id}/status` (admin/health-routes.ts, admin/routes/lb.ts), for OpenAPI
 * response schemas. The words come from health/status.ts, so the enums cannot drift from the
 * code that derives them; test/e2e/region-status.test.ts checks live answers against these
 * schemas, strictly (no property the schema does not name).
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { ENDPOINT_STATUSES, REGION_STATUSES } from './status.js';

const words = <T extends readonly string[]>(list: T, description: string) =>
  Type.Union(
    list.map((w) => Type.Literal(w)),
    { description },
  );

/** An endpoint's one word (docs/health.md, "Region states"). */
export const EndpointStatusWord = words(
  ENDPOINT_STATUSES,
  'The endpoint in one word, first match: drained, forced_down, weight_zero, forced_up, up, down, unchecked (no check), unknown (checked, no fresh vote).',
);

/** A region's one word (docs/health.md, "Region states"). */
export const RegionStatusWord = words(
  REGION_STATUSES,
  'Derived from the endpoints: healthy, degraded, down, drained, unchecked (nobody has a verdict), empty.',
);

/**
 * The options of a field's old name, sent beside its snake_case name until the next minor
 * release (docs/api.md, "Field names"): deprecated in the OpenAPI document.
 */
export function renamed(now: string) {
  return { deprecated: true, description: `Deprecated: the old name of \`${now}\`, equal to it; it goes in the next minor release.` } as const;
}

const Count = (description: string) => Type.Integer({ minimum: 0, description });

export const RegionCountsSchema = Type.Object(
  {
    total: Count('Endpoints in the region.'),
    usable: Count('Answered now: weight > 0 and usable under health and overrides.'),
    up: Count('Health view up.'),
    down: Count('Health view down.'),
    unknown: Count('Health view unknown (includes the unchecked).'),
    overridden: Count('Under any override, on the endpoint or its region.'),
    unchecked: Count('Without a health check.'),
    drained: Count('Under a drain override.'),
    forced_down: Count('Under a force_down override.'),
    weight_zero: Count('At weight 0.'),
  },
  { additionalProperties: false },
);

const Vote = Type.Object(
  {
    checker: Type.String(),
    by: Type.Optional(Type.String({ description: 'The process that cast it (cluster mode).' })),
    up: Type.Boolean(),
    rtt_ms: Type.Number({ description: 'How long the check took, in milliseconds.' }),
    reason: Type.String(),
    age_ms: Type.Number({ description: 'Milliseconds since the check was made.' }),
    fresh: Type.Boolean(),
    smoothed_rtt_ms: Type.Union([Type.Number(), Type.Null()], { description: "The EWMA of this checker region's up-vote RTTs; null when none." }),
    weight: Type.Optional(Type.Number({ minimum: 0, description: 'The weight the target reported in this vote.' })),
    rttMs: Type.Number(renamed('rtt_ms')),
    ageMs: Type.Number(renamed('age_ms')),
  },
  { additionalProperties: false },
);

const memberProperties = {
  endpoint: Type.String({ description: '`pool/id`' }),
  address: Type.String({ description: 'The address or hostname answered.' }),
  region: Type.String(),
  weight: Type.Number({ minimum: 0, description: 'The configured weight.' }),
  reported_weight: Type.Union([Type.Number({ minimum: 0 }), Type.Null()], {
    description: 'The weight its target reports while fresh (a check with `weight_from`), or null.',
  }),
  effective_weight: Type.Number({ minimum: 0, description: 'The weight policies use: reported_weight while there is one, else weight.' }),
  state: Type.Union([Type.Literal('up'), Type.Literal('down'), Type.Literal('unknown')], { description: 'The health view.' }),
  status: EndpointStatusWord,
  usable: Type.Boolean({ description: 'Answered now; false for weight 0.' }),
  reason: Type.Union([Type.String(), Type.Null()], { description: 'Why it is not answered, or null.' }),
  check: Type.Union([Type.String(), Type.Null()], { description: 'Its health check id, or null.' }),
  drained: Type.Boolean({ description: 'Drained by an override.' }),
  weight_zero: Type.Boolean({ description: 'At weight 0 (configured, or reported by its target).' }),
  override: Type.Union([
    Type.Object({ kind: Type.String(), scope: Type.Union([Type.Literal('endpoint'), Type.Literal('region')]) }, { additionalProperties: false }),
    Type.Null(),
  ]),
  votes: Type.Array(Vote),
};

/** An endpoint in `GET /v1/regions` (`members[]`). */
export const MemberSchema = Type.Object(memberProperties, { additionalProperties: false });

/** An endpoint in `GET /v1/regions/{id}/status` (`endpoints_detail[]`): the same, plus `health` (= `state`). */
export const EndpointDetailSchema = Type.Object({ ...memberProperties, health: memberProperties.state }, { additionalProperties: false });

/** How many endpoints have each endpoint status; only the statuses present. */
export const EndpointStatusCounts = Type.Object(
  Object.fromEntries(ENDPOINT_STATUSES.map((s) => [s, Type.Optional(Count(`Endpoints whose status is ${s}.`))])) as Record<string, TSchema>,
  {
    additionalProperties: false,
    description: 'How many endpoints have each endpoint status; only the statuses present.',
  },
);

const regionProperties = {
  id: Type.String(),
  name: Type.String(),
  country: Type.String(),
  continent: Type.String(),
  location: Type.Object({ lat: Type.Number(), lon: Type.Number() }, { additionalProperties: false }),
  status: RegionStatusWord,
  endpoints: RegionCountsSchema,
  endpoint_statuses: EndpointStatusCounts,
  weight: Type.Object(
    { total: Type.Number({ minimum: 0 }), usable: Type.Number({ minimum: 0 }) },
    { additionalProperties: false, description: 'Sum of the weights, of all endpoints and of the usable ones.' },
  ),
  override: Type.Union([
    Type.Object(
      {
        kind: Type.String(),
        reason: Type.Optional(Type.String()),
        by: Type.Optional(Type.String()),
        expires_at: Type.Optional(Type.String({ description: 'ISO 8601 time.' })),
      },
      { additionalProperties: false },
    ),
    Type.Null(),
  ]),
};

/** `GET /v1/regions`. */
export const RegionsResponse = Type.Object(
  { regions: Type.Array(Type.Object({ ...regionProperties, members: Type.Array(MemberSchema) }, { additionalProperties: false })) },
  { additionalProperties: false },
);

/** `GET /v1/regions/{id}`. */
export const RegionResponse = Type.Object({ ...regionProperties, zones: Type.Array(Type.String()) }, { additionalProperties: false });

/** `GET /v1/regions/{id}/status` (`nodes` are the node views of `GET /v1/nodes`). */
export const RegionStatusResponse = Type.Object(
  { ...regionProperties, endpoints_detail: Type.Array(EndpointDetailSchema), nodes: Type.Array(Type.Object({}, { additionalProperties: true })) },
  { additionalProperties: false },
);
