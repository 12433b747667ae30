/**
 * @module admin/routes/lb
 * Regions, pools and endpoints. They are defined in zones, so writes name the zone:
 *   GET  /v1/regions/{id}                    a region, from whichever zones define it
 *   GET  /v1/regions/{id}/status             derived status, endpoints with health and votes, and the
 *                                            nodes and checkers in the region
 *   GET|POST         /v1/zones/{zone}/regions
 *   GET|PUT|DELETE   /v1/zones/{zone}/regions/{id}     (DELETE refused while pools use it)
 *   GET|POST         /v1/zones/{zone}/pools
 *   GET|PUT|DELETE   /v1/zones/{zone}/pools/{id}       (DELETE refused while policies use it)
 *   GET|POST         /v1/zones/{zone}/pools/{id}/endpoints
 *   GET|PUT|DELETE   /v1/zones/{zone}/pools/{id}/endpoints/{endpoint}
 * Writes are zone edits (state/zone-store.ts): validated, If-Match on the zone's ETag, atomic,
 * audited, served at once.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type {} from '@fastify/swagger';
import { keyToPresentation } from '../../proto/name.js';
import { EndpointEntry, PoolEntry, RegionEntry } from '../../policy/schema.js';
import type { ZoneDocument } from '../../model/zone-schema.js';
import { ZoneStore } from '../../state/zone-store.js';
import type { SnapshotHolder } from '../../state/snapshot.js';
import type { VoteStore } from '../../health/votes.js';
import { memberStatus, regionStatuses } from '../health-routes.js';
import { uniqueEndpointsOf } from '../../health/endpoints.js';
import { createError } from '../../errors.js';
import { refuse } from '../problem.js';
import { sendOutcome } from './zones.js';
import { RegionDetail, RegionView, noContent, ok, problems, withEtag } from '../api-schemas.js';

/** Every zone write can be refused: no zone, a conflict, a stale If-Match, the store down. */
/** A write edits a zone: a master-file zone cannot hold regions or pools (422). */
const WRITE_ERRORS = [404, 409, 412, 422, 503];

type Req = FastifyRequest<{ Params: Record<string, string>; Body: unknown }>;
const ZoneParam = Type.Object({ zone: Type.String() });
const ZoneId = Type.Object({ zone: Type.String(), id: Type.String() });
const ZoneIdEp = Type.Object({ zone: Type.String(), id: Type.String(), endpoint: Type.String() });

function ifMatch(req: FastifyRequest): string | undefined {
  const h = req.headers['if-match'];
  return Array.isArray(h) ? h.join(',') : h;
}

/** Does any policy tree in the document mention this pool? */
function poolUsed(doc: ZoneDocument, id: string): string | null {
  const hit = (node: unknown): boolean => {
    if (Array.isArray(node)) return node.some(hit);
    // `pool: ID` appears as a leaf, and inside weighted, multivalue and on_all_down.
    if (node && typeof node === 'object') return Object.entries(node).some(([k, v]) => (k === 'pool' && v === id) || hit(v));
    return false;
  };
  for (const p of doc.policies ?? []) if (hit(p.policy) || (typeof p.on_all_down === 'object' && p.on_all_down.pool === id)) return p.name;
  return null;
}

export function registerLbRoutes(app: FastifyInstance, opts: { store: ZoneStore; holder: SnapshotHolder; votes: VoteStore | null }): void {
  const { store } = opts;

  app.get(
    '/v1/regions/:id',
    {
      schema: {
        operationId: 'getRegion',
        tags: ['regions'],
        summary: 'A region and the zones that define it',
        params: Type.Object({ id: Type.String() }),
        response: { 200: ok(RegionView, 'The region with its derived status'), ...problems(404) },
      },
    },
    async (req: Req, reply) => {
      const id = req.params['id']!;
      const zones = store.list().filter((z) => z.zone.policies?.regions.has(id));
      if (zones.length === 0) return refuse(reply, 'MRD_ERR_API_NOT_FOUND', 'No such region', `no zone defines region "${id}"`);
      const status = regionStatuses(opts.holder).find((r) => r.id === id)!;
      return { ...status, zones: zones.map((z) => keyToPresentation(z.origin)) };
    },
  );

  app.get(
    '/v1/regions/:id/status',
    {
      schema: {
        operationId: 'getRegionStatus',
        tags: ['regions'],
        summary: 'Derived status of a region: its endpoints, their health view and every vote',
        params: Type.Object({ id: Type.String() }),
        response: { 200: ok(RegionDetail, 'The region, its endpoints and the nodes in it'), ...problems(404) },
      },
    },
    async (req: Req, reply) => {
      const id = req.params['id']!;
      const status = regionStatuses(opts.holder).find((r) => r.id === id);
      if (!status) return refuse(reply, 'MRD_ERR_API_NOT_FOUND', 'No such region', `no zone defines region "${id}"`);
      const views = new Map((opts.votes?.view() ?? []).map((v) => [v.endpoint, v]));
      const endpoints = uniqueEndpointsOf(opts.holder.current)
        .filter((e) => e.region === id)
        .map((e) => {
          const m = memberStatus(opts.holder, e);
          return { ...m, health: m.state, votes: views.get(e.key)?.votes ?? [] };
        });
      // The nodes and checkers in this region (cluster mode), with their last-seen time and revision.
      return { ...status, endpoints_detail: endpoints, nodes: app.nodeViews().filter((n) => n.region === id) };
    },
  );

  // ---- per-zone collections ----------------------------------------------------------------

  type Coll = 'regions' | 'pools';
  const schemaOf = { regions: RegionEntry, pools: PoolEntry } as const;

  const zoneOr404 = (req: Req, reply: FastifyReply) => {
    const origin = ZoneStore.originOf(req.params['zone']!);
    const z = origin === null ? undefined : store.get(origin);
    if (!z) {
      refuse(reply, 'MRD_ERR_API_NOT_FOUND', 'No such zone', `zone ${req.params['zone']} is not served here`);
      return null;
    }
    return z;
  };

  for (const coll of ['regions', 'pools'] as Coll[]) {
    const tags = [coll];
    const noun = coll === 'regions' ? 'region' : 'pool';
    const Noun = coll === 'regions' ? 'ZoneRegion' : 'Pool';
    const Item = schemaOf[coll];
    const List = Type.Object({ [coll]: Type.Array(Item) }, { title: `${Noun}List` });
    app.get(
      `/v1/zones/:zone/${coll}`,
      {
        schema: {
          operationId: coll === 'regions' ? 'listZoneRegions' : 'listPools',
          tags,
          summary: `List the ${coll} of a zone`,
          params: ZoneParam,
          response: { 200: withEtag(ok(List, `The ${coll} the zone defines`)), ...problems(404) },
        },
      },
      async (req: Req, reply) => {
        const z = zoneOr404(req, reply);
        if (!z) return reply;
        return reply.header('etag', z.etag).send({ [coll]: z.document[coll] ?? [] });
      },
    );
    app.get(
      `/v1/zones/:zone/${coll}/:id`,
      {
        schema: {
          operationId: `get${Noun}`,
          tags,
          summary: `One ${noun}`,
          params: ZoneId,
          response: { 200: withEtag(ok(Item, `The ${noun}`)), ...problems(404) },
        },
      },
      async (req: Req, reply) => {
        const z = zoneOr404(req, reply);
        if (!z) return reply;
        const item = (z.document[coll] as { id: string }[] | undefined)?.find((x) => x.id === req.params['id']);
        if (!item)
          return refuse(reply, 'MRD_ERR_API_NOT_FOUND', `No such ${noun}`, `${noun} "${req.params['id']}" is not in zone ${keyToPresentation(z.origin)}`);
        return reply.header('etag', z.etag).send(item);
      },
    );
    app.post(
      `/v1/zones/:zone/${coll}`,
      {
        schema: {
          operationId: `create${Noun}`,
          tags,
          summary: `Create a ${noun}`,
          params: ZoneParam,
          body: schemaOf[coll],
          response: { 201: withEtag(ok(Item, 'Created and served')), ...problems(...WRITE_ERRORS) },
        },
      },
      async (req: Req, reply) => {
        const z = zoneOr404(req, reply);
        if (!z) return reply;
        const body = req.body as { id: string };
        const out = await store.edit(
          z.origin,
          { who: req.who, ifMatch: ifMatch(req), action: `${noun}.create`, target: `${keyToPresentation(z.origin)}/${coll}/${body.id}` },
          (doc) => {
            const list = ((doc as Record<string, unknown>)[coll] ??= []) as { id: string }[];
            if (list.some((x) => x.id === body.id))
              throw createError('MRD_ERR_API_CONFLICT', `${noun} "${body.id}" already exists; replace it with PUT`).titled(`The ${noun} exists`);
            list.push(body);
          },
        );
        return sendOutcome(reply, { ...out, created: true }, 201, () => body);
      },
    );
    app.put(
      `/v1/zones/:zone/${coll}/:id`,
      {
        schema: {
          operationId: `replace${Noun}`,
          tags,
          summary: `Replace a ${noun}`,
          params: ZoneId,
          body: schemaOf[coll],
          response: { 200: withEtag(ok(Item, 'Replaced and served')), ...problems(...WRITE_ERRORS) },
        },
      },
      async (req: Req, reply) => {
        const z = zoneOr404(req, reply);
        if (!z) return reply;
        const body = req.body as { id: string };
        if (body.id !== req.params['id'])
          return refuse(reply, 'MRD_ERR_API_BAD_REQUEST', 'The body names another id', `the body has id "${body.id}", the URL "${req.params['id']}"`, [
            { field: 'id', message: 'must match the URL' },
          ]);
        const out = await store.edit(
          z.origin,
          { who: req.who, ifMatch: ifMatch(req), action: `${noun}.replace`, target: `${keyToPresentation(z.origin)}/${coll}/${body.id}` },
          (doc) => {
            const list = ((doc as Record<string, unknown>)[coll] ?? []) as { id: string }[];
            const i = list.findIndex((x) => x.id === body.id);
            if (i < 0) throw createError('MRD_ERR_API_NOT_FOUND', `${noun} "${body.id}" does not exist; create it with POST`).titled(`No such ${noun}`);
            list[i] = body;
          },
        );
        return sendOutcome(reply, out, 200, () => body);
      },
    );
    app.delete(
      `/v1/zones/:zone/${coll}/:id`,
      {
        schema: {
          operationId: `delete${Noun}`,
          tags,
          summary: `Delete a ${noun} (refused while something uses it)`,
          params: ZoneId,
          response: { 204: withEtag(noContent("Deleted; the ETag header has the zone's new ETag")), ...problems(...WRITE_ERRORS) },
        },
      },
      async (req: Req, reply) => {
        const z = zoneOr404(req, reply);
        if (!z) return reply;
        const id = req.params['id']!;
        const out = await store.edit(
          z.origin,
          { who: req.who, ifMatch: ifMatch(req), action: `${noun}.delete`, target: `${keyToPresentation(z.origin)}/${coll}/${id}` },
          (doc) => {
            const list = ((doc as Record<string, unknown>)[coll] ?? []) as { id: string }[];
            if (!list.some((x) => x.id === id)) throw createError('MRD_ERR_API_NOT_FOUND', `${noun} "${id}" is not in the zone`).titled(`No such ${noun}`);
            if (coll === 'regions') {
              const users = (doc.pools ?? []).filter((p) => p.endpoints.some((e) => e.region === id)).map((p) => p.id);
              const inPolicy = JSON.stringify(doc.policies ?? []).includes(`"region":"${id}"`) || (doc.latency ?? []).some((r) => id in r.rtt_ms);
              if (users.length > 0 || inPolicy)
                throw createError(
                  'MRD_ERR_API_CONFLICT',
                  `region "${id}" is used by ${users.length > 0 ? `pools ${users.join(', ')}` : 'policies or latency rows'}; move or delete those first`,
                ).titled('The region is in use');
            } else {
              const user = poolUsed(doc, id);
              if (user)
                throw createError('MRD_ERR_API_CONFLICT', `pool "${id}" is used by policy record "${user}"; change it first`).titled('The pool is in use');
            }
            (doc as Record<string, unknown>)[coll] = list.filter((x) => x.id !== id);
          },
        );
        return reply.code(204).header('etag', out.etag).send();
      },
    );
  }

  // ---- endpoints of a pool ------------------------------------------------------------------

  const epId = (e: { id?: string | undefined; address?: string | undefined; hostname?: string | undefined }): string =>
    e.id ?? (e.address ?? e.hostname ?? '').toLowerCase();

  app.get(
    '/v1/zones/:zone/pools/:id/endpoints',
    {
      schema: {
        operationId: 'listEndpoints',
        tags: ['pools'],
        summary: 'The endpoints of a pool',
        params: ZoneId,
        response: { 200: withEtag(ok(Type.Object({ endpoints: Type.Array(EndpointEntry) }, { title: 'EndpointList' }), 'The endpoints')), ...problems(404) },
      },
    },
    async (req: Req, reply) => {
      const z = zoneOr404(req, reply);
      if (!z) return reply;
      const pool = z.document.pools?.find((p) => p.id === req.params['id']);
      if (!pool) return refuse(reply, 'MRD_ERR_API_NOT_FOUND', 'No such pool', `pool "${req.params['id']}" is not in zone ${keyToPresentation(z.origin)}`);
      return reply.header('etag', z.etag).send({ endpoints: pool.endpoints });
    },
  );

  app.get(
    '/v1/zones/:zone/pools/:id/endpoints/:endpoint',
    {
      schema: {
        operationId: 'getEndpoint',
        tags: ['pools'],
        summary: 'One endpoint',
        params: ZoneIdEp,
        response: { 200: withEtag(ok(EndpointEntry, 'The endpoint')), ...problems(404) },
      },
    },
    async (req: Req, reply) => {
      const z = zoneOr404(req, reply);
      if (!z) return reply;
      const ep = z.document.pools?.find((p) => p.id === req.params['id'])?.endpoints.find((e) => epId(e) === req.params['endpoint']);
      if (!ep) return refuse(reply, 'MRD_ERR_API_NOT_FOUND', 'No such endpoint', `endpoint "${req.params['endpoint']}" is not in pool "${req.params['id']}"`);
      return reply.header('etag', z.etag).send(ep);
    },
  );

  const editPool = async (
    req: Req,
    reply: FastifyReply,
    action: string,
    fn: (endpoints: { id?: string }[], poolId: string) => void,
    status: number,
    body: () => unknown,
  ) => {
    const z = zoneOr404(req, reply);
    if (!z) return reply;
    const poolId = req.params['id']!;
    const out = await store.edit(
      z.origin,
      {
        who: req.who,
        ifMatch: ifMatch(req),
        action,
        target: `${keyToPresentation(z.origin)}/pools/${poolId}/endpoints/${req.params['endpoint'] ?? epId(req.body as object)}`,
      },
      (doc) => {
        const pool = doc.pools?.find((p) => p.id === poolId);
        if (!pool) throw createError('MRD_ERR_API_NOT_FOUND', `pool "${poolId}" is not in the zone`).titled('No such pool');
        fn(pool.endpoints as { id?: string }[], poolId);
      },
    );
    return reply
      .code(status === 201 ? 201 : status)
      .header('etag', out.etag)
      .send(status === 204 ? undefined : body());
  };

  app.post(
    '/v1/zones/:zone/pools/:id/endpoints',
    {
      schema: {
        operationId: 'addEndpoint',
        tags: ['pools'],
        summary: 'Add an endpoint to a pool',
        params: ZoneId,
        body: EndpointEntry,
        response: { 201: withEtag(ok(EndpointEntry, 'Added and served')), ...problems(...WRITE_ERRORS) },
      },
    },
    async (req: Req, reply) => {
      const body = req.body as { id?: string; address?: string; hostname?: string };
      return editPool(
        req,
        reply,
        'endpoint.create',
        (eps, poolId) => {
          if (eps.some((e) => epId(e) === epId(body)))
            throw createError('MRD_ERR_API_CONFLICT', `endpoint "${epId(body)}" is already in pool "${poolId}"`).titled('The endpoint exists');
          eps.push(body);
        },
        201,
        () => body,
      );
    },
  );

  app.put(
    '/v1/zones/:zone/pools/:id/endpoints/:endpoint',
    {
      schema: {
        operationId: 'replaceEndpoint',
        tags: ['pools'],
        summary: 'Replace an endpoint',
        params: ZoneIdEp,
        body: EndpointEntry,
        response: { 200: withEtag(ok(EndpointEntry, 'Replaced and served')), ...problems(...WRITE_ERRORS) },
      },
    },
    async (req: Req, reply) => {
      const body = req.body as { id?: string; address?: string; hostname?: string };
      return editPool(
        req,
        reply,
        'endpoint.replace',
        (eps) => {
          const i = eps.findIndex((e) => epId(e) === req.params['endpoint']);
          if (i < 0) throw createError('MRD_ERR_API_NOT_FOUND', `endpoint "${req.params['endpoint']}" is not in the pool`).titled('No such endpoint');
          if (epId(body) !== req.params['endpoint'])
            throw createError('MRD_ERR_API_BAD_REQUEST', `the body is endpoint "${epId(body)}", the URL "${req.params['endpoint']}"`).titled(
              'The body names another endpoint',
            );
          eps[i] = body;
        },
        200,
        () => body,
      );
    },
  );

  app.delete(
    '/v1/zones/:zone/pools/:id/endpoints/:endpoint',
    {
      schema: {
        operationId: 'deleteEndpoint',
        tags: ['pools'],
        summary: 'Remove an endpoint (a pool keeps at least one)',
        params: ZoneIdEp,
        response: { 204: withEtag(noContent("Removed; the ETag header has the zone's new ETag")), ...problems(...WRITE_ERRORS) },
      },
    },
    async (req: Req, reply) =>
      editPool(
        req,
        reply,
        'endpoint.delete',
        (eps) => {
          const i = eps.findIndex((e) => epId(e) === req.params['endpoint']);
          if (i < 0) throw createError('MRD_ERR_API_NOT_FOUND', `endpoint "${req.params['endpoint']}" is not in the pool`).titled('No such endpoint');
          if (eps.length === 1)
            throw createError('MRD_ERR_API_CONFLICT', 'delete the pool instead, or add another endpoint first').titled('A pool may not be empty');
          eps.splice(i, 1);
        },
        204,
        () => undefined,
      ),
  );
}
