/**
 * @module admin/routes/zones
 * Zones and the records in them (docs/api.md):
 *   GET    /v1/zones                             list
 *   POST   /v1/zones                             create (a zone document)
 *   POST   /v1/zones/import?zone=NAME            create or replace from an RFC 1035 master file
 *                                                (If-Match, or the text's meridian-etag line;
 *                                                If-None-Match: * to create only)
 *   GET    /v1/zones/{zone}                      the document, with its ETag
 *   PUT    /v1/zones/{zone}                      replace (If-Match)
 *   DELETE /v1/zones/{zone}                      delete (If-Match)
 *   GET    /v1/zones/{zone}/export?format=yaml|zone (zone: a master-file zone's own text)
 *   GET    /v1/zones/{zone}/records              plain and policy records
 *   POST   /v1/zones/{zone}/records              create one (plain: values; policy: policy)
 *   GET|PUT|DELETE /v1/zones/{zone}/records/{name}/{type}
 * Every write goes through state/zone-store.ts (validation, If-Match, serial, atomic write,
 * audit) and is served before the response is sent.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { keyToPresentation, presentationToKey } from '../../proto/name.js';
import { typeFromName, typeToName } from '../../proto/types.js';
import { RecordEntry, ZoneDocument } from '../../model/zone-schema.js';
import { PolicyRecordEntry } from '../../policy/schema.js';
import { decide } from '../../policy/evaluate.js';
import { UNKNOWN_CLIENT } from '../../policy/client.js';
import { policyRRset } from '../../dns/answer.js';
import { formatRdata } from '../../proto/rdata.js';
import { beyondMasterFile, toMasterFile, documentToYaml, documentOf } from '../../zone/export.js';
import { parseZoneText } from '../../zone/load.js';
import { splitEtagLine } from '../../zone/etag-line.js';
import type {} from '@fastify/swagger';
import { buildZone, type Zone } from '../../zone/zone.js';
import { ZoneStore, type WriteOutcome } from '../../state/zone-store.js';
import { signerFor, tablesFor, type SnapshotHolder } from '../../state/snapshot.js';
import type { Source } from '../../state/source.js';
import { createError } from '../../errors.js';
import { refuse } from '../problem.js';
import { WriteResult, ZoneList, noContent, ok, problems, text, withEtag } from '../api-schemas.js';

export const ZoneParams = Type.Object({ zone: Type.String({ description: 'Zone name, with or without the trailing dot.' }) });
export const RecordParams = Type.Object({
  zone: Type.String({ description: 'Zone name.' }),
  name: Type.String({ description: 'Owner, relative to the zone (`www`, `@`) or absolute (`www.example.net.`).' }),
  type: Type.String({ description: 'Record type (A, AAAA, MX, ...).' }),
});
/** A record as the API shows and takes it: plain (values) or a policy record (policy). */
export const ApiRecord = Type.Union([RecordEntry, PolicyRecordEntry], {
  title: 'Record',
  description: 'A plain RRset (`value`/`values`) or a policy record (`policy`).',
});

/** The body of an import: the master file itself (RFC 1035 §5). */
const MasterFileBody = {
  content: Object.fromEntries(
    ['text/dns', 'text/plain'].map((m) => [
      m,
      { schema: Type.String({ description: 'An RFC 1035 master file (RFC 1035 §5): $ORIGIN, $TTL, SOA, NS and records; no $INCLUDE or $GENERATE.' }) },
    ]),
  ),
};

const RecordList = Type.Object({ records: Type.Array(ApiRecord) }, { title: 'RecordList' });

const ifMatchHeader = Type.Object({ 'if-match': Type.Optional(Type.String({ description: 'ETag the change is based on; a mismatch is 412.' })) });

type ZoneReq = FastifyRequest<{ Params: { zone: string } }>;
type RecordReq = FastifyRequest<{ Params: { zone: string; name: string; type: string }; Body: unknown }>;

function originOr404(req: ZoneReq, reply: FastifyReply): string | null {
  const origin = ZoneStore.originOf(req.params.zone);
  if (origin === null) {
    refuse(reply, 'MRD_ERR_API_NOT_FOUND', 'No such zone', `"${req.params.zone}" is not a zone name`);
    return null;
  }
  return origin;
}

function ifMatch(req: FastifyRequest): string | undefined {
  const h = req.headers['if-match'];
  return Array.isArray(h) ? h.join(',') : h;
}

/** Answers a stored write (a refused one threw, and admin/problem.ts answers it). */
export function sendOutcome(reply: FastifyReply, out: WriteOutcome, okStatus: number, body: () => unknown): FastifyReply {
  return reply
    .code(out.created ? 201 : okStatus)
    .header('etag', out.etag)
    .send(body());
}

/** Owner key and type number of a record key in a URL or body; null when not a name/type. */
function keyOf(origin: string, name: string, type: string): { owner: string; type: number } | null {
  try {
    const t = typeFromName(type.toUpperCase());
    if (t === undefined) return null;
    return { owner: presentationToKey(name === '@' ? '@' : name, origin), type: t };
  } catch {
    return null;
  }
}

function same(origin: string, entry: { name: string; type: string }, k: { owner: string; type: number }): boolean {
  const ek = keyOf(origin, entry.name, entry.type);
  return ek !== null && ek.owner === k.owner && ek.type === k.type;
}

export function registerZoneRoutes(app: FastifyInstance, opts: { store: ZoneStore; holder: SnapshotHolder; source: Source }): void {
  const { store, holder } = opts;
  const tags = ['zones'];
  const dnssecSummary = (zone: Zone): { signed: boolean; keys: number[] } => {
    const signer = signerFor(holder.current, zone);
    return signer
      ? { signed: true, keys: [signer.active.tag, ...signer.published.filter((k) => k !== signer.active).map((k) => k.tag)] }
      : { signed: false, keys: [] };
  };

  app.get(
    '/v1/zones',
    {
      schema: {
        operationId: 'listZones',
        tags,
        summary: 'List zones',
        description: 'Every zone served, and every file of the zones directory with the problems that keep a bad one from loading.',
        response: { 200: ok(ZoneList, 'The zones and the files') },
      },
    },
    async () => ({
      zones: store.list().map((z) => ({
        name: keyToPresentation(z.origin),
        serial: z.zone.serial,
        etag: z.etag,
        file: z.file,
        format: z.kind,
        records: z.zone.recordCount,
        policies: z.zone.policies?.records.length ?? 0,
        dnssec: dnssecSummary(z.zone),
      })),
      // Every file in the zones directory, with the problems that keep a bad one from loading.
      files: opts.source.status().map((f) => ({
        file: f.name,
        zone: f.origin === null ? null : keyToPresentation(f.origin),
        serial: f.serial,
        loaded_at: f.loadedAt?.toISOString() ?? null,
        errors: f.errors.map((e) => ({ code: e.code, line: e.line, message: e.message, record: e.record ?? null })),
      })),
    }),
  );

  app.post(
    '/v1/zones',
    {
      schema: {
        operationId: 'createZone',
        tags,
        summary: 'Create a zone from a zone document',
        body: ZoneDocument,
        response: { 201: withEtag(ok(WriteResult, 'Created; Location names the zone')), ...problems(409, 412, 503) },
      },
    },
    async (req, reply) => {
      const out = await store.write(null, req.body, { who: req.who });
      reply.header('location', `/v1/zones/${keyToPresentation(out.zone.origin)}`);
      return sendOutcome(reply, out, 201, () => ({ name: keyToPresentation(out.zone.origin), serial: out.serial }));
    },
  );

  app.post(
    '/v1/zones/import',
    {
      schema: {
        operationId: 'importZone',
        tags,
        summary: 'Create or replace a zone from an RFC 1035 master file (body: text/dns or text/plain)',
        querystring: Type.Object({ zone: Type.Optional(Type.String({ description: 'Origin when the file has no $ORIGIN.' })) }),
        body: MasterFileBody,
        response: { 200: withEtag(ok(WriteResult, 'Replaced')), 201: withEtag(ok(WriteResult, 'Created')), ...problems(409, 412, 422, 503) },
      },
    },
    async (req, reply) => {
      const text = req.body;
      if (typeof text !== 'string') return refuse(reply, 'MRD_ERR_API_MEDIA_TYPE', 'Send the master file as text', 'use Content-Type: text/dns or text/plain');
      const q = req.query as { zone?: string };
      const file = `${(q.zone ?? 'import').replace(/\.$/, '')}.zone`;
      const parsed = parseZoneText(text, file);
      const built = buildZone(parsed);
      if (!built.ok) {
        return refuse(
          reply,
          'MRD_ERR_API_BAD_REQUEST',
          'The master file does not load',
          built.errors.map((e) => e.format()).join('; '),
          built.errors.map((e) => ({ code: e.code, line: e.line, message: e.message, ...(e.record ? { field: e.record } : {}) })),
        );
      }
      const doc = documentOf(built.zone, text, 'master');
      const held = store.get(built.zone.origin);
      const exists = held !== undefined;
      // A master file replacing a zone would silently drop what only YAML holds: refuse that.
      const lost = held ? beyondMasterFile(held.document) : [];
      if (lost.length > 0) {
        return refuse(
          reply,
          'MRD_ERR_API_MASTER_FILE',
          'A master file cannot replace this zone',
          `zone ${keyToPresentation(built.zone.origin)} holds ${lost.join(', ')}, which a master file cannot carry; importing one would drop them, so nothing was changed. Replace it with a zone document (PUT /v1/zones/${keyToPresentation(built.zone.origin)}) instead`,
          lost.map((f) => ({ field: f, code: 'MRD_ERR_API_MASTER_FILE', message: `${f}: a master file cannot carry it` })),
        );
      }
      // RFC 9110 §13.1.2: If-None-Match: * creates only; an existing zone is not replaced.
      if (exists && String(req.headers['if-none-match'] ?? '').trim() === '*') {
        return refuse(
          reply,
          'MRD_ERR_API_PRECONDITION',
          'The zone exists',
          `zone ${keyToPresentation(built.zone.origin)} exists and If-None-Match: * asked to create it only; nothing was changed`,
        );
      }
      // The text's own meridian-etag line (zone/etag-line.ts, a comment the parser skipped) is the
      // revision it was read from: it is the If-Match when the request sends none.
      const out = await store.write(exists ? built.zone.origin : null, doc, {
        who: req.who,
        ifMatch: ifMatch(req) ?? splitEtagLine(text).etag ?? undefined,
        action: 'zone.import',
        createAs: 'master',
      });
      return sendOutcome(reply, out, 200, () => ({ name: keyToPresentation(built.zone.origin), serial: out.serial }));
    },
  );

  app.get(
    '/v1/zones/:zone',
    {
      schema: {
        operationId: 'getZone',
        tags,
        summary: 'A zone as a document, with its ETag',
        params: ZoneParams,
        response: { 200: withEtag(ok(ZoneDocument, 'The zone document')), ...problems(404) },
      },
    },
    async (req: ZoneReq, reply) => {
      const origin = originOr404(req, reply);
      if (origin === null) return reply;
      const z = store.get(origin);
      if (!z) return refuse(reply, 'MRD_ERR_API_NOT_FOUND', 'No such zone', `zone ${keyToPresentation(origin)} is not served here`);
      return reply.header('etag', z.etag).send(z.document);
    },
  );

  app.put(
    '/v1/zones/:zone',
    {
      schema: {
        operationId: 'replaceZone',
        tags,
        summary: 'Replace a zone',
        params: ZoneParams,
        headers: ifMatchHeader,
        body: ZoneDocument,
        response: { 200: withEtag(ok(WriteResult, 'Replaced and served')), ...problems(404, 409, 412, 422, 503) },
      },
    },
    async (req: ZoneReq, reply) => {
      const origin = originOr404(req, reply);
      if (origin === null) return reply;
      const out = await store.write(origin, req.body, { who: req.who, ifMatch: ifMatch(req) });
      return sendOutcome(reply, out, 200, () => ({ name: keyToPresentation(origin), serial: out.serial }));
    },
  );

  app.delete(
    '/v1/zones/:zone',
    {
      schema: {
        operationId: 'deleteZone',
        tags,
        summary: 'Delete a zone',
        params: ZoneParams,
        headers: ifMatchHeader,
        response: { 204: noContent('Deleted; DNS no longer answers for it'), ...problems(404, 409, 412, 503) },
      },
    },
    async (req: ZoneReq, reply) => {
      const origin = originOr404(req, reply);
      if (origin === null) return reply;
      await store.remove(origin, { who: req.who, ifMatch: ifMatch(req) });
      return reply.code(204).send();
    },
  );

  app.get(
    '/v1/zones/:zone/export',
    {
      schema: {
        operationId: 'exportZone',
        tags,
        summary: 'Export a zone as YAML or as an RFC 1035 master file',
        params: ZoneParams,
        querystring: Type.Object({
          format: Type.Optional(
            Type.Union([Type.Literal('yaml'), Type.Literal('zone')], {
              description: '`yaml` (default): the zone document; `zone`: an RFC 1035 master file, policy records as their current answer.',
            }),
          ),
        }),
        response: { 200: withEtag(text('The zone as YAML (format=yaml) or as a master file (format=zone)', 'application/yaml', 'text/dns')), ...problems(404) },
      },
    },
    async (req: ZoneReq, reply) => {
      const origin = originOr404(req, reply);
      if (origin === null) return reply;
      const z = store.get(origin);
      if (!z) return refuse(reply, 'MRD_ERR_API_NOT_FOUND', 'No such zone', `zone ${keyToPresentation(origin)} is not served here`);
      const format = (req.query as { format?: string }).format ?? 'yaml';
      reply.header('etag', z.etag);
      if (format === 'zone') {
        const answers = new Map<string, string[]>();
        for (const rec of z.zone.policies?.records ?? []) {
          const set = policyRRset(rec.owner, rec, decide(rec, UNKNOWN_CLIENT, holder.current.health, tablesFor(holder.current, z.zone)));
          answers.set(`${rec.owner}|${rec.rrtype}`, set ? set.rdatas.map((r) => formatRdata(set.type, r)) : []);
        }
        // A master-file zone's own text, byte for byte; any other zone rendered (policy records as comments).
        return reply.type('text/dns; charset=utf-8').send(z.kind === 'master' ? z.text : toMasterFile(z.zone, answers));
      }
      return reply.type('application/yaml; charset=utf-8').send(z.kind === 'yaml' ? z.text : documentToYaml(z.document));
    },
  );

  // ---- records -----------------------------------------------------------------------------

  const recordsOf = (origin: string) => {
    const z = store.get(origin);
    if (!z) return null;
    const doc = z.document;
    return { z, plain: doc.records ?? [], policies: doc.policies ?? [] };
  };

  app.get(
    '/v1/zones/:zone/records',
    {
      schema: {
        operationId: 'listRecords',
        tags: ['records'],
        summary: 'List the records of a zone',
        params: ZoneParams,
        response: { 200: withEtag(ok(RecordList, 'Plain records, then policy records')), ...problems(404) },
      },
    },
    async (req: ZoneReq, reply) => {
      const origin = originOr404(req, reply);
      if (origin === null) return reply;
      const r = recordsOf(origin);
      if (!r) return refuse(reply, 'MRD_ERR_API_NOT_FOUND', 'No such zone', `zone ${keyToPresentation(origin)} is not served here`);
      return reply.header('etag', r.z.etag).send({ records: [...r.plain, ...r.policies] });
    },
  );

  const findRecord = (origin: string, name: string, type: string) => {
    const r = recordsOf(origin);
    const k = keyOf(origin, name, type);
    if (!r || !k) return null;
    const plain = r.plain.filter((e) => same(origin, e, k));
    const policy = r.policies.find((e) => same(origin, e, k));
    return { r, k, plain, policy };
  };

  app.post(
    '/v1/zones/:zone/records',
    {
      schema: {
        operationId: 'createRecord',
        tags: ['records'],
        summary: 'Create a record (plain RRset or policy record)',
        params: ZoneParams,
        headers: ifMatchHeader,
        body: ApiRecord,
        response: { 201: withEtag(ok(ApiRecord, 'Created and served; Location names the record')), ...problems(404, 409, 412, 422, 503) },
      },
    },
    async (req: ZoneReq, reply) => {
      const origin = originOr404(req, reply);
      if (origin === null) return reply;
      const body = req.body as { name: string; type: string; policy?: unknown };
      const k = keyOf(origin, body.name, body.type);
      if (!k)
        return refuse(reply, 'MRD_ERR_API_BAD_REQUEST', 'Bad record key', `"${body.name}" "${body.type}" is not a name and record type`, [
          { field: 'name', message: 'must be a domain name and a known type' },
        ]);
      const out = await store.edit(
        origin,
        {
          who: req.who,
          ifMatch: ifMatch(req),
          action: 'record.create',
          target: `${keyToPresentation(origin)}/records/${keyToPresentation(k.owner)}/${typeToName(k.type)}`,
        },
        (doc) => {
          const exists = (doc.records ?? []).some((e) => same(origin, e, k)) || (doc.policies ?? []).some((e) => same(origin, e, k));
          if (exists)
            throw createError('MRD_ERR_API_CONFLICT', `${keyToPresentation(k.owner)} ${typeToName(k.type)} already exists; replace it with PUT`).titled(
              'The record exists',
            );
          if ('policy' in body) (doc.policies ??= []).push(body as never);
          else (doc.records ??= []).push(body as never);
        },
      );
      reply.header('location', `/v1/zones/${keyToPresentation(origin)}/records/${keyToPresentation(k.owner)}/${typeToName(k.type)}`);
      return sendOutcome(reply, { ...out, created: true }, 201, () => body);
    },
  );

  app.get(
    '/v1/zones/:zone/records/:name/:type',
    {
      schema: {
        operationId: 'getRecord',
        tags: ['records'],
        summary: 'One record',
        params: RecordParams,
        response: { 200: withEtag(ok(ApiRecord, "The record (a plain RRset's values gathered in `values`)")), ...problems(404) },
      },
    },
    async (req: RecordReq, reply) => {
      const f = findRecord(ZoneStore.originOf(req.params.zone) ?? '\u0000', req.params.name, req.params.type);
      if (!f || (f.plain.length === 0 && !f.policy))
        return refuse(reply, 'MRD_ERR_API_NOT_FOUND', 'No such record', `${req.params.name} ${req.params.type} is not in zone ${req.params.zone}`);
      reply.header('etag', f.r.z.etag);
      if (f.policy) return f.policy;
      const values = f.plain.flatMap((e) => e.values ?? [e.value!]);
      return { name: f.plain[0]!.name, type: f.plain[0]!.type, ...(f.plain[0]!.ttl !== undefined ? { ttl: f.plain[0]!.ttl } : {}), values };
    },
  );

  app.put(
    '/v1/zones/:zone/records/:name/:type',
    {
      schema: {
        operationId: 'replaceRecord',
        tags: ['records'],
        summary: 'Replace a record',
        params: RecordParams,
        headers: ifMatchHeader,
        body: ApiRecord,
        response: { 200: withEtag(ok(ApiRecord, 'Replaced and served')), ...problems(404, 409, 412, 422, 503) },
      },
    },
    async (req: RecordReq, reply) => {
      const origin = ZoneStore.originOf(req.params.zone);
      const k = origin === null ? null : keyOf(origin, req.params.name, req.params.type);
      if (origin === null || !k)
        return refuse(reply, 'MRD_ERR_API_NOT_FOUND', 'No such record', `${req.params.name} ${req.params.type} is not a record key of ${req.params.zone}`);
      const body = req.body as { name: string; type: string; policy?: unknown };
      if (!same(origin, body, k))
        return refuse(
          reply,
          'MRD_ERR_API_BAD_REQUEST',
          'The body names another record',
          `the body is ${body.name} ${body.type}, the URL ${req.params.name} ${req.params.type}`,
          [{ field: 'name', message: 'must match the URL' }],
        );
      const out = await store.edit(
        origin,
        {
          who: req.who,
          ifMatch: ifMatch(req),
          action: 'record.replace',
          target: `${keyToPresentation(origin)}/records/${keyToPresentation(k.owner)}/${typeToName(k.type)}`,
        },
        (doc) => {
          const had = (doc.records ?? []).some((e) => same(origin, e, k)) || (doc.policies ?? []).some((e) => same(origin, e, k));
          if (!had)
            throw createError('MRD_ERR_API_NOT_FOUND', `${req.params.name} ${req.params.type} is not in the zone; create it with POST`).titled(
              'No such record',
            );
          doc.records = (doc.records ?? []).filter((e) => !same(origin, e, k));
          doc.policies = (doc.policies ?? []).filter((e) => !same(origin, e, k));
          if ('policy' in body) doc.policies.push(body as never);
          else doc.records.push(body as never);
          if (doc.policies.length === 0) delete doc.policies;
        },
      );
      return sendOutcome(reply, out, 200, () => body);
    },
  );

  app.delete(
    '/v1/zones/:zone/records/:name/:type',
    {
      schema: {
        operationId: 'deleteRecord',
        tags: ['records'],
        summary: 'Delete a record',
        params: RecordParams,
        headers: ifMatchHeader,
        response: { 204: withEtag(noContent("Deleted; the ETag header has the zone's new ETag")), ...problems(404, 409, 412, 422, 503) },
      },
    },
    async (req: RecordReq, reply) => {
      const origin = ZoneStore.originOf(req.params.zone);
      const k = origin === null ? null : keyOf(origin, req.params.name, req.params.type);
      if (origin === null || !k)
        return refuse(reply, 'MRD_ERR_API_NOT_FOUND', 'No such record', `${req.params.name} ${req.params.type} is not a record key of ${req.params.zone}`);
      const out = await store.edit(
        origin,
        {
          who: req.who,
          ifMatch: ifMatch(req),
          action: 'record.delete',
          target: `${keyToPresentation(origin)}/records/${keyToPresentation(k.owner)}/${typeToName(k.type)}`,
        },
        (doc) => {
          const had = (doc.records ?? []).some((e) => same(origin, e, k)) || (doc.policies ?? []).some((e) => same(origin, e, k));
          if (!had) throw createError('MRD_ERR_API_NOT_FOUND', `${req.params.name} ${req.params.type} is not in the zone`).titled('No such record');
          doc.records = (doc.records ?? []).filter((e) => !same(origin, e, k));
          if (doc.policies) doc.policies = doc.policies.filter((e) => !same(origin, e, k));
        },
      );
      return reply.code(204).header('etag', out.etag).send();
    },
  );
}
