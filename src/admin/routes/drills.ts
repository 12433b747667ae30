/**
 * @module admin/routes/drills
 * Failover drills (docs/operations.md):
 *   POST   /v1/drills          preview (changes nothing) or start a live drill
 *   GET    /v1/drills          every drill, newest first
 *   GET    /v1/drills/{id}     a drill's report
 *   DELETE /v1/drills/{id}     abort a running drill and restore at once
 * A live drill that would break a safety rule is refused with 409 and its report.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type {} from '@fastify/swagger';
import { preview } from '../../drill/preview.js';
import type { DrillRunner } from '../../drill/runner.js';
import type { SnapshotHolder } from '../../state/snapshot.js';
import { createError } from '../../errors.js';
import { refuse, sendProblem } from '../problem.js';
import { DrillList, DrillPreview, DrillReport, ok, problemResponse, problems } from '../api-schemas.js';

export const DrillBody = Type.Object(
  {
    region: Type.Optional(Type.String({ minLength: 1, description: 'The region to take out. Give `region` or `endpoints`.' })),
    endpoints: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: 'Endpoint keys (`pool/id`) to take out.' })),
    mode: Type.Union([Type.Literal('preview'), Type.Literal('live')], { description: '`preview` changes nothing; `live` drains the target for `duration_s`.' }),
    duration_s: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400, description: 'How long a live drill drains the target. Default 60.' })),
    min_healthy_regions: Type.Optional(Type.Integer({ minimum: 0, description: 'Refuse or abort if fewer regions keep a usable endpoint. Default 1.' })),
    reason: Type.Optional(Type.String({ maxLength: 500, description: 'Why, for the audit log.' })),
  },
  {
    additionalProperties: false,
    oneOf: [{ required: ['region'] }, { required: ['endpoints'] }],
    'x-error': 'must have exactly one of "region" or "endpoints"',
  },
);
type DrillBody = Static<typeof DrillBody>;

export function registerDrillRoutes(app: FastifyInstance, opts: { holder: SnapshotHolder; runner: DrillRunner }): void {
  const tags = ['drills'];
  app.post(
    '/v1/drills',
    {
      schema: {
        operationId: 'startDrill',
        tags,
        summary: 'Preview a drill, or start a live one',
        body: DrillBody,
        response: {
          200: ok(DrillPreview, 'mode=preview: what the drill would change (nothing is changed)'),
          202: ok(DrillReport, 'mode=live: started; Location names its report'),
          ...problems(404),
          409: problemResponse(409, 'The live drill would break a safety rule: refused, with its report in `report`'),
        },
      },
    },
    async (req, reply) => {
      const b = req.body as DrillBody;
      const target = b.region !== undefined ? { region: b.region } : { endpoints: b.endpoints! };
      const snap = opts.holder.current;
      const known = new Set<string>();
      for (const zone of snap.catalog.zones) {
        for (const r of zone.policies?.regions.keys() ?? []) known.add(`region:${r}`);
        for (const pool of zone.policies?.pools.values() ?? []) for (const ep of pool.endpoints) known.add(`endpoint:${ep.key}`);
      }
      const unknown = b.region !== undefined ? (known.has(`region:${b.region}`) ? [] : [b.region]) : b.endpoints!.filter((e) => !known.has(`endpoint:${e}`));
      if (unknown.length > 0) return refuse(reply, 'MRD_ERR_API_NOT_FOUND', 'Unknown drill target', `no zone defines ${unknown.join(', ')}`);
      if (b.mode === 'preview') return preview(snap, target, { minHealthyRegions: b.min_healthy_regions ?? 1 });
      const report = opts.runner.start({
        target,
        durationS: b.duration_s ?? 60,
        minHealthyRegions: b.min_healthy_regions ?? 1,
        reason: b.reason ?? 'drill',
        by: req.who,
      });
      if (report.state === 'refused') {
        // The problem carries the drill's report as an extension member (RFC 9457 §3.2).
        return sendProblem(
          reply,
          createError('MRD_ERR_API_CONFLICT', report.timeline.at(-1)?.detail ?? 'refused').titled('The drill would break a safety rule'),
          { report },
        );
      }
      return reply.code(202).header('location', `/v1/drills/${report.id}`).send(report);
    },
  );

  app.get(
    '/v1/drills',
    { schema: { operationId: 'listDrills', tags, summary: 'Every drill, newest first', response: { 200: ok(DrillList, 'Every drill this node ran') } } },
    async () => ({ drills: opts.runner.list() }),
  );

  app.get(
    '/v1/drills/:id',
    {
      schema: {
        operationId: 'getDrill',
        tags,
        summary: 'A drill report: timeline, convergence, predictions next to observations, rule results',
        params: Type.Object({ id: Type.String() }),
        response: { 200: ok(DrillReport, 'The report'), ...problems(404) },
      },
    },
    async (req, reply) => {
      const r = opts.runner.get((req.params as { id: string }).id);
      return r ?? refuse(reply, 'MRD_ERR_API_NOT_FOUND', 'No such drill', `no drill "${(req.params as { id: string }).id}"`);
    },
  );

  app.delete(
    '/v1/drills/:id',
    {
      schema: {
        operationId: 'abortDrill',
        tags,
        summary: 'Abort a running drill and restore at once',
        params: Type.Object({ id: Type.String() }),
        response: { 200: ok(DrillReport, 'Aborted (or already over): the report'), ...problems(404) },
      },
    },
    async (req, reply) => {
      const r = opts.runner.abort((req.params as { id: string }).id, req.who);
      return r ?? refuse(reply, 'MRD_ERR_API_NOT_FOUND', 'No such drill', `no drill "${(req.params as { id: string }).id}"`);
    },
  );
}
