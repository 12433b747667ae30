/**
 * @module admin/routes/overrides
 * Operator overrides (drain, force up, force down) on an endpoint or a whole region:
 *   GET    /v1/overrides             list, with who set each, why, and when it lifts
 *   POST   /v1/overrides             set one (replaces an override on the same target)
 *   DELETE /v1/overrides/{id}        lift one (`endpoint:pool/id` or `region:id`)
 * An override with an expiry lifts by itself. With `--state DIR`, overrides are saved in
 * `overrides.json` (atomically) and survive a restart; in cluster mode they live in etcd and hold
 * on every node (cluster/overrides.ts). Every change is in the audit log.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type {} from '@fastify/swagger';
import type { HealthState, Override } from '../../policy/health-view.js';
import type { AuditLog } from '../../state/audit.js';
import { writeFileAtomic } from '../../state/atomic.js';
import { createErrorCausedBy, MeridianError } from '../../errors.js';
import { refuse } from '../problem.js';
import { AuditList, OverrideList, OverrideView, noContent, ok, problems } from '../api-schemas.js';
import { overrideId as idOf, overrideTarget as targetOf, type OverrideBackend } from '../../cluster/overrides.js';

export const OverrideBody = Type.Object(
  {
    endpoint: Type.Optional(Type.String({ minLength: 1, description: 'Endpoint key `pool/id`. Give `endpoint` or `region`.' })),
    region: Type.Optional(Type.String({ minLength: 1, description: 'Region id. Give `endpoint` or `region`.' })),
    kind: Type.Union([Type.Literal('drain'), Type.Literal('force_up'), Type.Literal('force_down')], {
      description: 'drain (no new answers), force_up, force_down.',
    }),
    reason: Type.String({ minLength: 1, maxLength: 500, description: 'Why, for the audit log and the status pages.' }),
    expires_in: Type.Optional(Type.Integer({ minimum: 1, maximum: 365 * 86400, description: 'Seconds after which it lifts by itself.' })),
  },
  { additionalProperties: false, oneOf: [{ required: ['endpoint'] }, { required: ['region'] }], 'x-error': 'must have exactly one of "endpoint" or "region"' },
);
type OverrideBody = Static<typeof OverrideBody>;

interface Saved {
  id: string;
  kind: Override['kind'];
  reason?: string;
  by?: string;
  expiresAt?: number;
  setAt?: number;
}

/** Lists live overrides with ids (expired ones are dropped). */
export function listOverrides(health: HealthState, now = Date.now()): (Saved & { expires_at: string | null; set_at: string | null })[] {
  const { endpoints, regions } = health.overrides();
  const out: (Saved & { expires_at: string | null; set_at: string | null })[] = [];
  for (const [map, prefix] of [
    [endpoints, 'endpoint:'],
    [regions, 'region:'],
  ] as const) {
    for (const [key, o] of map) {
      if (o.expiresAt !== undefined && o.expiresAt <= now) continue;
      const setAt = (o as Override & { setAt?: number }).setAt;
      out.push({
        id: prefix + key,
        kind: o.kind,
        ...(o.reason ? { reason: o.reason } : {}),
        ...(o.by ? { by: o.by } : {}),
        expires_at: o.expiresAt ? new Date(o.expiresAt).toISOString() : null,
        set_at: setAt ? new Date(setAt).toISOString() : null,
      });
    }
  }
  return out;
}

/** Saves and restores overrides in the state directory. */
export class OverrideFile {
  readonly #file: string;
  constructor(
    dir: string,
    private readonly health: HealthState,
  ) {
    fs.mkdirSync(dir, { recursive: true });
    this.#file = path.join(dir, 'overrides.json');
  }
  load(): number {
    let saved: Saved[];
    try {
      saved = JSON.parse(fs.readFileSync(this.#file, 'utf8')) as Saved[];
    } catch {
      return 0;
    }
    let n = 0;
    for (const s of saved) {
      const t = targetOf(s.id);
      if (!t || (s.expiresAt !== undefined && s.expiresAt <= Date.now())) continue;
      this.health.setOverride(t, {
        kind: s.kind,
        ...(s.reason ? { reason: s.reason } : {}),
        ...(s.by ? { by: s.by } : {}),
        ...(s.expiresAt ? { expiresAt: s.expiresAt } : {}),
        ...(s.setAt ? { setAt: s.setAt } : {}),
      } as Override);
      n++;
    }
    return n;
  }
  /** The backend that applies a change here and saves the file. */
  static backend(health: HealthState, file: OverrideFile | null): OverrideBackend {
    return {
      set: async (target, override) => {
        health.setOverride(target, override);
        file?.save();
      },
    };
  }

  save(): void {
    const { endpoints, regions } = this.health.overrides();
    const out: Saved[] = [];
    for (const [key, o] of endpoints) out.push({ id: `endpoint:${key}`, ...o });
    for (const [key, o] of regions) out.push({ id: `region:${key}`, ...o });
    writeFileAtomic(this.#file, JSON.stringify(out, null, 1));
  }
}

/**
 * Waits for an override change to be stored. A refusal keeps its code (cluster/overrides.ts
 * raises MRD_ERR_API_UNAVAILABLE when etcd is away); any other failure to store it (the
 * overrides file) is MRD_ERR_API_UNAVAILABLE too.
 */
async function storing(done: Promise<void>, title: string): Promise<void> {
  try {
    await done;
  } catch (err) {
    if (err instanceof MeridianError) throw err.titled(title);
    throw createErrorCausedBy(err, 'MRD_ERR_API_UNAVAILABLE', `${(err as Error).message}; nothing was changed`).titled(title);
  }
}

export function registerOverrideRoutes(
  app: FastifyInstance,
  opts: { health: HealthState; audit: AuditLog; backend: OverrideBackend; known?: (target: { endpoint: string } | { region: string }) => boolean },
): void {
  const tags = ['overrides'];
  app.get(
    '/v1/overrides',
    { schema: { operationId: 'listOverrides', tags, summary: 'Overrides in force', response: { 200: ok(OverrideList, 'Every override in force') } } },
    async () => ({ overrides: listOverrides(opts.health) }),
  );

  app.post(
    '/v1/overrides',
    {
      schema: {
        operationId: 'setOverride',
        tags,
        summary: 'Drain, force up or force down an endpoint or a region',
        body: OverrideBody,
        response: { 200: ok(OverrideView, 'Replaced the override on that target'), 201: ok(OverrideView, 'Set; Location names it'), ...problems(404, 503) },
      },
    },
    async (req, reply) => {
      const b = req.body as OverrideBody;
      const target = b.endpoint !== undefined ? { endpoint: b.endpoint } : { region: b.region! };
      // A typo must not be a silent no-op: the target has to exist in some zone.
      if (opts.known && !opts.known(target)) {
        return refuse(
          reply,
          'MRD_ERR_API_NOT_FOUND',
          'Unknown override target',
          `no zone defines ${'endpoint' in target ? `endpoint "${target.endpoint}"` : `region "${target.region}"`}`,
          [{ field: 'endpoint' in target ? 'endpoint' : 'region', message: 'must name an endpoint (pool/id) or region that a zone defines' }],
        );
      }
      const id = idOf(target);
      const before = listOverrides(opts.health).find((o) => o.id === id) ?? null;
      const override = {
        kind: b.kind,
        reason: b.reason,
        by: req.who,
        setAt: Date.now(),
        ...(b.expires_in ? { expiresAt: Date.now() + b.expires_in * 1000 } : {}),
      } as Override;
      await storing(opts.backend.set(target, override), 'The override was not stored');
      const after = listOverrides(opts.health).find((o) => o.id === id)!;
      opts.audit.record({
        who: req.who,
        action: 'override.set',
        target: id,
        before: before ? `${before.kind}` : null,
        after: after.kind,
        detail: { reason: b.reason, expires_at: after.expires_at },
      });
      return reply
        .code(before ? 200 : 201)
        .header('location', `/v1/overrides/${encodeURIComponent(id)}`)
        .send(after);
    },
  );

  app.delete(
    '/v1/overrides/:id',
    {
      schema: {
        operationId: 'liftOverride',
        tags,
        summary: 'Lift an override',
        params: Type.Object({ id: Type.String({ description: '`endpoint:pool/id` or `region:id`.' }) }),
        response: { 204: noContent('Lifted'), ...problems(404, 503) },
      },
    },
    async (req, reply) => {
      const id = decodeURIComponent((req.params as { id: string }).id);
      const target = targetOf(id);
      const before = listOverrides(opts.health).find((o) => o.id === id);
      if (!target || !before) return refuse(reply, 'MRD_ERR_API_NOT_FOUND', 'No such override', `no override "${id}" is in force`);
      await storing(opts.backend.set(target, null), 'The override was not lifted');
      opts.audit.record({ who: req.who, action: 'override.lift', target: id, before: before.kind, after: null });
      return reply.code(204).send();
    },
  );
}

export function registerAuditRoutes(app: FastifyInstance, opts: { audit: AuditLog }): void {
  app.get(
    '/v1/audit',
    {
      schema: {
        operationId: 'listAudit',
        tags: ['audit'],
        summary: 'Recent changes, newest first',
        querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000 })), target: Type.Optional(Type.String()) }),
        response: { 200: ok(AuditList, 'The entries') },
      },
    },
    async (req) => {
      const q = req.query as { limit?: number; target?: string };
      return { entries: opts.audit.list({ ...(q.limit ? { limit: q.limit } : {}), ...(q.target ? { target: q.target } : {}) }) };
    },
  );
}
