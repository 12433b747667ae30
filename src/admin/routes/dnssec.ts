/**
 * @module admin/routes/dnssec
 * A zone's DNSSEC signing (docs/api.md, docs/dnssec.md):
 *   GET    /v1/zones/{zone}/dnssec            keys (tag, algorithm, flags, state) and the DS for the parent
 *   POST   /v1/zones/{zone}/dnssec            enable signing (makes keys); body: algorithm, dnskey_ttl
 *   DELETE /v1/zones/{zone}/dnssec            disable signing and delete the keys (DS out of the parent first)
 *   POST   /v1/zones/{zone}/dnssec/rollover   start a key rollover, or complete one (`{"step": "complete"}`)
 * Private keys are never part of a response. Works for YAML and master-file zones alike.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { createError } from '../../errors.js';
import { keyToPresentation } from '../../proto/name.js';
import { TTL_DURATION, durationValue } from '../../proto/duration.js';
import { algorithmFromName } from '../../dnssec/keys.js';
import type { DnssecKeys } from '../../state/dnssec.js';
import type { SnapshotHolder } from '../../state/snapshot.js';
import { ZoneStore } from '../../state/zone-store.js';
import type { AuditLog } from '../../state/audit.js';
import { Duration } from '../../validation/duration.js';
import { DnssecStatusSchema, ok, problems } from '../api-schemas.js';
import { ZoneParams } from './zones.js';

const tags = ['dnssec'];

type ZoneReq = FastifyRequest<{ Params: { zone: string } }>;

/** Seconds of a Duration the schema passed (`60`, `5m`); a bad one is a 400. */
function durationSeconds(value: string | number): number {
  const n = durationValue(TTL_DURATION, value);
  if (n === undefined) throw createError('MRD_ERR_API_BAD_REQUEST', `"${value}" is not a duration (seconds, or units such as 30s, 10m, 1h)`);
  return n;
}

export function registerDnssecRoutes(app: FastifyInstance, opts: { holder: SnapshotHolder; dnssec: DnssecKeys; audit: AuditLog }): void {
  const { dnssec, holder, audit } = opts;
  const zoneOf = (req: ZoneReq) => {
    const origin = ZoneStore.originOf(req.params.zone);
    const zone = origin === null ? undefined : holder.current.catalog.get(origin);
    if (!zone) throw createError('MRD_ERR_API_NOT_FOUND', `zone ${req.params.zone} is not served here`).titled('No such zone');
    return zone;
  };

  app.get(
    '/v1/zones/:zone/dnssec',
    {
      schema: {
        operationId: 'getZoneDnssec',
        tags,
        summary: "A zone's signing state, its keys and the DS records for the parent",
        params: ZoneParams,
        response: { 200: ok(DnssecStatusSchema, 'Signing state (no private key is ever shown)'), ...problems(404) },
      },
    },
    async (req: ZoneReq) => dnssec.status(zoneOf(req)),
  );

  app.post(
    '/v1/zones/:zone/dnssec',
    {
      schema: {
        operationId: 'enableZoneDnssec',
        tags,
        summary: 'Sign the zone: make keys (if none) and sign every answer to DO=1 queries',
        params: ZoneParams,
        body: Type.Optional(
          Type.Object(
            {
              algorithm: Type.Optional(
                Type.Union([Type.Literal('ecdsap256sha256'), Type.Literal('ed25519')], { description: 'Default `ecdsap256sha256` (13); `ed25519` (15).' }),
              ),
              dnskey_ttl: Type.Optional(Duration("TTL of DNSKEY, CDS and CDNSKEY. Default: the SOA's TTL.")),
            },
            { additionalProperties: false },
          ),
        ),
        response: { 200: ok(DnssecStatusSchema, 'Already signed; unchanged'), 201: ok(DnssecStatusSchema, 'Signed now'), ...problems(404, 409, 503) },
      },
    },
    async (req: FastifyRequest<{ Params: { zone: string }; Body?: { algorithm?: string; dnskey_ttl?: string | number } }>, reply) => {
      const zone = zoneOf(req);
      const algorithm = req.body?.algorithm === undefined ? undefined : algorithmFromName(req.body.algorithm);
      const ttl = req.body?.dnskey_ttl === undefined ? undefined : durationSeconds(req.body.dnskey_ttl);
      const changed = await dnssec.enable(zone, { algorithm, dnskeyTtlSeconds: ttl });
      if (changed) audit.record({ who: req.who, action: 'dnssec.enable', target: keyToPresentation(zone.origin), before: null, after: null });
      return reply.code(changed ? 201 : 200).send(dnssec.status(zone));
    },
  );

  app.delete(
    '/v1/zones/:zone/dnssec',
    {
      schema: {
        operationId: 'disableZoneDnssec',
        tags,
        summary: 'Stop signing and delete the keys. Remove the DS from the parent, and wait its TTL, first',
        params: ZoneParams,
        response: { 200: ok(DnssecStatusSchema, 'Unsigned now'), ...problems(404, 409, 503) },
      },
    },
    async (req: ZoneReq) => {
      const zone = zoneOf(req);
      await dnssec.disable(zone);
      audit.record({ who: req.who, action: 'dnssec.disable', target: keyToPresentation(zone.origin), before: null, after: null });
      return dnssec.status(zone);
    },
  );

  app.post(
    '/v1/zones/:zone/dnssec/rollover',
    {
      schema: {
        operationId: 'rolloverZoneDnssec',
        tags,
        summary: 'Roll the key: `start` publishes a new key that signs after the DNSKEY TTL; `complete` withdraws the old one',
        params: ZoneParams,
        body: Type.Optional(
          Type.Object(
            {
              step: Type.Optional(Type.Union([Type.Literal('start'), Type.Literal('complete')], { description: 'Default `start`.' })),
              propagation_delay: Type.Optional(Duration('Time beyond the TTLs for every node and cache to catch up. Default 60s.')),
            },
            { additionalProperties: false },
          ),
        ),
        response: { 200: ok(DnssecStatusSchema, 'The rollover moved on'), ...problems(404, 409, 503) },
      },
    },
    async (req: FastifyRequest<{ Params: { zone: string }; Body?: { step?: string; propagation_delay?: string | number } }>) => {
      const zone = zoneOf(req);
      if (req.body?.step === 'complete') await dnssec.completeRollover(zone);
      else await dnssec.startRollover(zone, req.body?.propagation_delay === undefined ? undefined : durationSeconds(req.body.propagation_delay));
      audit.record({ who: req.who, action: `dnssec.rollover.${req.body?.step ?? 'start'}`, target: keyToPresentation(zone.origin), before: null, after: null });
      return dnssec.status(zone);
    },
  );
}
