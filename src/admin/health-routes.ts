/**
 * @module admin/health-routes
 * The health view on the admin port (docs/health.md, docs/api.md):
 *   GET  /v1/health         every checked endpoint: its view (up/down/unknown) and each vote
 *   GET  /v1/regions        every region with its derived status (health/status.ts), endpoint
 *                           counts and member endpoints, each with its status word
 *   POST /v1/health/votes   where standalone checkers (`meridian checker`) send their votes
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type {} from '@fastify/swagger';
import { compileSchema } from '../validation/validate.js';
import { refuse } from './problem.js';
import { HealthReport, RegionList, VotesAccepted, ok, problems } from './api-schemas.js';
import { uniqueEndpointsOf } from '../health/endpoints.js';
import type { Vote, VoteStore } from '../health/votes.js';
import { renamed } from '../health/status-schema.js';
import type { SnapshotHolder } from '../state/snapshot.js';
import type { Endpoint, Region } from '../policy/types.js';
import { endpointState, regionState, type EndpointStatus, type RegionCounts, type RegionState } from '../health/status.js';

const VoteBody = Type.Object(
  {
    checker: Type.String({ minLength: 1, maxLength: 63, description: 'Region id of the checker.' }),
    votes: Type.Array(
      Type.Object(
        {
          endpoint: Type.String({ minLength: 1 }),
          checker: Type.String({ minLength: 1 }),
          up: Type.Boolean(),
          rtt_ms: Type.Optional(Type.Number({ minimum: 0, description: 'How long the check took, in milliseconds.' })),
          rttMs: Type.Optional(
            Type.Number({
              minimum: 0,
              ...renamed('rtt_ms'),
              description:
                'Deprecated: the old name of `rtt_ms`, as checkers of the previous release send it; taken when `rtt_ms` is absent, until the next minor release.',
            }),
          ),
          reason: Type.String({ maxLength: 500 }),
          at: Type.Number({ minimum: 0 }),
          weight: Type.Optional(Type.Number({ minimum: 0, description: 'The weight the target reported (a check with `weight_from`).' })),
        },
        { additionalProperties: false, anyOf: [{ required: ['rtt_ms'] }, { required: ['rttMs'] }], 'x-error': 'must have rtt_ms' },
      ),
      { maxItems: 100_000 },
    ),
  },
  { additionalProperties: false },
);
type VoteBody = Static<typeof VoteBody>;

export interface RegionStatus {
  id: string;
  name: string;
  country: string;
  continent: string;
  location: { lat: number; lon: number };
  /** Derived as health/status.ts says (docs/health.md, "Region states"). */
  status: RegionState;
  endpoints: RegionCounts;
  /** How many endpoints have each endpoint status (only the statuses present). */
  endpoint_statuses: Partial<Record<EndpointStatus, number>>;
  /** Sum of the endpoints' weights, and of the usable ones' (the capacity DNS hands out). */
  weight: { total: number; usable: number };
  override: { kind: string; reason?: string; by?: string; expires_at?: string } | null;
}

/** One endpoint of a region as `GET /v1/regions` (members) and `/v1/regions/{id}/status` show it. */
export interface MemberStatus {
  endpoint: string;
  address: string;
  region: string;
  /** The configured weight. */
  weight: number;
  /** The weight its target reports while fresh, or null. */
  reported_weight: number | null;
  /** The weight policies use. */
  effective_weight: number;
  /** The health view: up, down or unknown. */
  state: 'up' | 'down' | 'unknown';
  /** One word for the endpoint (health/status.ts). */
  status: EndpointStatus;
  usable: boolean;
  reason: string | null;
  check: string | null;
  drained: boolean;
  weight_zero: boolean;
  override: { kind: string; scope: 'endpoint' | 'region' } | null;
}

/** The status view of one endpoint. */
export function memberStatus(holder: SnapshotHolder, e: Endpoint): MemberStatus {
  const health = holder.current.health;
  const s = endpointState(health, e);
  const own = health.overrides().endpoints.has(e.key);
  return {
    endpoint: e.key,
    address: e.value,
    region: e.region,
    weight: e.weight,
    reported_weight: health.reportedWeight(e.key) ?? null,
    effective_weight: health.weight(e),
    state: health.health(e.key),
    status: s.status,
    usable: s.usable,
    reason: s.reason,
    check: e.check?.id ?? null,
    drained: s.status === 'drained',
    weight_zero: health.weight(e) <= 0,
    override: s.override ? { kind: s.override.kind, scope: own ? 'endpoint' : 'region' } : null,
  };
}

/** Every region of every zone, with the status derived from its endpoints' health, overrides and weights. */
export function regionStatuses(holder: SnapshotHolder): RegionStatus[] {
  const snap = holder.current;
  const regions = new Map<string, Region>();
  for (const zone of snap.catalog.zones) for (const r of zone.policies?.regions.values() ?? []) if (!regions.has(r.id)) regions.set(r.id, r);
  const eps = uniqueEndpointsOf(holder.current);
  const overrides = snap.health.overrides();
  return [...regions.values()].map((r) => {
    const sum = regionState(
      snap.health,
      eps.filter((e) => e.region === r.id),
    );
    const o = overrides.regions.get(r.id);
    return {
      id: r.id,
      name: r.name,
      country: r.country,
      continent: r.continent,
      location: { lat: r.lat, lon: r.lon },
      status: sum.status,
      endpoints: sum.counts,
      endpoint_statuses: sum.byStatus,
      weight: sum.weight,
      override: o
        ? {
            kind: o.kind,
            ...(o.reason ? { reason: o.reason } : {}),
            ...(o.by ? { by: o.by } : {}),
            ...(o.expiresAt ? { expires_at: new Date(o.expiresAt).toISOString() } : {}),
          }
        : null,
    };
  });
}

export function registerHealthRoutes(app: FastifyInstance, opts: { holder: SnapshotHolder; votes: VoteStore | null }): void {
  app.get(
    '/v1/health',
    {
      schema: {
        operationId: 'getHealth',
        tags: ['health'],
        summary: 'Every checked endpoint: its health view and each vote, and the recent transitions',
        response: { 200: ok(HealthReport, 'The health view') },
      },
    },
    async () => ({
      endpoints: opts.votes?.view() ?? [],
      transitions: opts.votes?.transitions() ?? [],
    }),
  );

  app.get(
    '/v1/regions',
    {
      schema: {
        operationId: 'listRegions',
        tags: ['regions'],
        summary: 'Every region with its derived status, counts and member endpoints',
        response: { 200: ok(RegionList, 'Every region of every zone') },
      },
    },
    async () => {
      const views = new Map((opts.votes?.view() ?? []).map((v) => [v.endpoint, v]));
      const eps = uniqueEndpointsOf(opts.holder.current);
      return {
        regions: regionStatuses(opts.holder).map((r) => ({
          ...r,
          members: eps.filter((e) => e.region === r.id).map((e) => ({ ...memberStatus(opts.holder, e), votes: views.get(e.key)?.votes ?? [] })),
        })),
      };
    },
  );

  const validate = compileSchema(VoteBody);
  app.post(
    '/v1/health/votes',
    {
      schema: {
        operationId: 'submitVotes',
        tags: ['health'],
        summary: 'Votes from a standalone checker (meridian checker)',
        body: VoteBody,
        response: { 202: ok(VotesAccepted, 'Taken'), ...problems(409) },
      },
    },
    async (req, reply) => {
      if (!validate(req.body)) {
        const first = validate.errors?.[0];
        return refuse(reply, 'MRD_ERR_API_BAD_REQUEST', 'Bad vote batch', `${first?.instancePath || 'body'} ${first?.message ?? 'is invalid'}`);
      }
      const body = req.body as VoteBody;
      if (!opts.votes) return refuse(reply, 'MRD_ERR_API_CONFLICT', 'This node does not judge health', 'send votes to a node that serves DNS');
      // A checker votes for its own region only.
      // `rttMs` is the old name of `rtt_ms` (docs/api.md, "Field names").
      const accepted = opts.votes.record(
        body.votes
          .filter((v) => v.checker === body.checker)
          .map(
            (v): Vote => ({
              endpoint: v.endpoint,
              checker: v.checker,
              up: v.up,
              rttMs: v.rtt_ms ?? v.rttMs ?? 0,
              reason: v.reason,
              at: v.at,
              ...(v.weight !== undefined ? { weight: v.weight } : {}),
            }),
          ),
      );
      return reply.code(202).send({ accepted });
    },
  );
}
