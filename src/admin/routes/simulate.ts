/**
 * @module admin/routes/simulate
 * `GET /v1/simulate?name=&type=&client=[&down_regions=a,b][&down_endpoints=pool/id,...]`: the
 * exact answer the DNS server would give now, and why. It builds a real DNS query (with the
 * client as an EDNS Client Subnet option when it is a subnet, or as the source address when it
 * is an address) and runs it through dns/pipeline.ts `handleQuery`, the same function the UDP
 * and TCP servers call, with a trace collector and, for what-if questions, a health view in
 * which the named regions or endpoints are down. Nothing is changed.
 *
 * The query is built and the answer read with the server's own codec (proto/wire.ts
 * {@link encodeQuery}, {@link parseResponse}), so every type the server serves can be asked: each
 * mnemonic of proto/types.ts (HTTPS, SVCB, SMIMEA…) and the RFC 3597 §5 generic `TYPEnnn`, in any
 * case. Any other type is a 400 (MRD_ERR_API_BAD_REQUEST), as is a name that cannot exist
 * (RFC 1035 §2.3.4). Records come back in presentation form, the fields dig prints: owner
 * (absolute), TTL, class, type, and RDATA text from proto/rdata.ts {@link formatRdata}.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type {} from '@fastify/swagger';
import { keyToPresentation, NameError, presentationToKey } from '../../proto/name.js';
import { handleQuery, type Explain } from '../../dns/pipeline.js';
import { CLASS_IN, typeFromName, typeToName } from '../../proto/types.js';
import { encodeQuery, parseResponse, rcodeName, type ResponseRecord } from '../../proto/wire.js';
import { formatRdata } from '../../proto/rdata.js';
import { clientFromText, clientSubnetOption } from '../../policy/client.js';
import { geoSourceOf, locate } from '../../policy/geoip.js';
import { withEndpointsDown, withRegionsDown, type HealthView } from '../../policy/health-view.js';
import { signerFor, type SnapshotHolder } from '../../state/snapshot.js';
import { refuse } from '../problem.js';
import { Simulation, ok } from '../api-schemas.js';

const Query = Type.Object({
  name: Type.String({ minLength: 1, description: 'The name asked for.' }),
  type: Type.Optional(Type.String({ description: 'Record type, any case: a mnemonic (`A`, `MX`, `HTTPS`…) or `TYPEnnn` (RFC 3597 §5). Default A.' })),
  client: Type.Optional(Type.String({ description: 'Client address (`192.0.2.1`) or subnet (`192.0.2.0/24`, sent as ECS). Default: 127.0.0.1.' })),
  down_regions: Type.Optional(Type.String({ description: 'What-if: comma-separated regions to treat as down.' })),
  down_endpoints: Type.Optional(Type.String({ description: 'What-if: comma-separated endpoint keys (`pool/id`) to treat as down.' })),
  dnssec: Type.Optional(
    Type.Union([Type.Literal('true'), Type.Literal('false')], {
      description: 'Ask with the DNSSEC OK bit (RFC 3225), so the answer shows the RRSIGs and NSEC a validating resolver gets. Default false.',
    }),
  ),
});

export function registerSimulateRoutes(app: FastifyInstance, opts: { holder: SnapshotHolder }): void {
  app.get(
    '/v1/simulate',
    {
      schema: {
        operationId: 'simulate',
        tags: ['simulate'],
        summary: 'The answer the DNS server would give now to this client, and why',
        querystring: Query,
        response: { 200: ok(Simulation, 'The answer and the explanation') },
      },
    },
    async (req, reply) => {
      const q = req.query as { name: string; type?: string; client?: string; down_regions?: string; down_endpoints?: string; dnssec?: string };
      const typeText = q.type ?? 'A';
      const qtype = typeFromName(typeText);
      if (qtype === undefined)
        return refuse(reply, 'MRD_ERR_API_BAD_REQUEST', 'Bad question', `type: "${typeText}" is not a record type`, [
          { field: 'type', message: 'must be a record type mnemonic (A, MX, HTTPS…) or TYPEnnn (RFC 3597 §5)' },
        ]);
      let qkey: string;
      try {
        // An absolute name; a trailing dot is optional (relative to the root).
        qkey = presentationToKey(q.name, '');
      } catch (err) {
        if (!(err instanceof NameError)) throw err;
        return refuse(reply, 'MRD_ERR_API_BAD_REQUEST', 'Bad question', `name: ${err.message}`, [
          { field: 'name', message: 'must be a domain name (labels of 63 octets or less, 255 in all)' },
        ]);
      }
      const clientText = q.client ?? '127.0.0.1';
      const client = clientFromText(clientText);
      if (!client)
        return refuse(reply, 'MRD_ERR_API_BAD_REQUEST', 'Bad client', `client: "${clientText}" is not an IP address or subnet`, [
          { field: 'client', message: 'must be an IP address or CIDR subnet' },
        ]);
      const asEcs = clientText.includes('/');
      const msg = encodeQuery({
        id: 1,
        qkey,
        qtype,
        rd: true,
        udpSize: 1232,
        dnssecOk: q.dnssec === 'true',
        // RFC 7871 §6: a subnet is sent as a Client Subnet option.
        ...(asEcs ? { clientSubnet: clientSubnetOption(client) } : {}),
      });
      const snapshot = opts.holder.current;
      let health: HealthView = snapshot.health;
      const whatIf: Record<string, string[]> = {};
      if (q.down_regions) {
        const regions = q.down_regions
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        health = withRegionsDown(health, new Set(regions));
        whatIf['down_regions'] = regions;
      }
      if (q.down_endpoints) {
        const eps = q.down_endpoints
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        health = withEndpointsDown(health, new Set(eps));
        whatIf['down_endpoints'] = eps;
      }
      const explain: Explain = { trace: [], health };
      const out = handleQuery(
        msg,
        { transport: 'tcp', remoteAddress: asEcs ? '127.0.0.1' : client.text },
        { snapshots: { current: snapshot }, options: { maxUdpPayload: 1232, useCache: true }, explain },
      );
      const raw = Array.isArray(out) ? out[0] : out;
      const res = raw ? parseResponse(raw) : 'no response';
      // The pipeline answers every query it is given, and its answers parse: anything else is a bug.
      if (typeof res === 'string') throw new Error(`simulate: the pipeline's answer does not decode: ${res}`);
      const loc = locate(client, snapshot.live.geo);
      const db = geoSourceOf(snapshot.live.geo);
      const zone = snapshot.catalog.findZone(qkey);
      const signer = zone ? signerFor(snapshot, zone) : undefined;
      return {
        question: { name: q.name, type: typeToName(qtype), client: clientText, as: asEcs ? 'ecs' : 'source address' },
        answer: {
          rcode: rcodeName(res.rcode),
          aa: res.aa,
          records: res.answer.map(presentation),
          authority: res.authority.map(presentation),
          additional: res.additional.map(presentation),
          ecs_scope: res.clientSubnet ? res.clientSubnet.scopePrefix : null,
        },
        explanation: {
          policy_record: explain.record ? { name: explain.record.owner, ttl: explain.record.ttlSeconds, on_all_down: explain.record.onAllDown.kind } : null,
          geolocation: loc.country
            ? {
                country: loc.country,
                subdivision: loc.subdivision || null,
                continent: loc.continent,
                city: loc.city || null,
                lat: loc.lat,
                lon: loc.lon,
                geoip_block_prefix: loc.scope,
                database: db.name,
              }
            : null,
          geo_database: { kind: db.kind, name: db.name, type: db.type, built_at: db.builtAt },
          path: explain.trace,
          chosen: explain.decision?.endpoints.map((e) => ({ endpoint: e.key, value: e.value, region: e.region })) ?? [],
          all_down_fallback: explain.decision?.allDown ?? false,
          decision_scope: explain.decision?.scope ?? 0,
          what_if: Object.keys(whatIf).length > 0 ? whatIf : null,
          // Whether a DO=1 query gets this answer signed, and by which key (docs/dnssec.md).
          dnssec: signer
            ? {
                signed: true,
                key_tag: signer.active.tag,
                algorithm: signer.active.algorithm,
                asked: q.dnssec === 'true',
                note:
                  q.dnssec === 'true'
                    ? `signed online by key ${signer.active.tag}: every RRset carries its RRSIG; denial is compact (RFC 9824)`
                    : `the zone is signed by key ${signer.active.tag}; a DO=1 query (dnssec=true) gets the RRSIGs`,
              }
            : {
                signed: false,
                key_tag: null,
                algorithm: null,
                asked: q.dnssec === 'true',
                note: zone ? 'the zone is not signed' : 'no zone of ours holds this name',
              },
        },
      };
    },
  );
}

/** A record as dig prints it: owner (absolute), TTL, class, type, RDATA in presentation form. */
function presentation(r: ResponseRecord): { name: string; ttl: number; class: string; type: string; data: string } {
  return {
    name: keyToPresentation(r.owner),
    ttl: r.ttl,
    class: r.class === CLASS_IN ? 'IN' : `CLASS${r.class}`,
    type: typeToName(r.type),
    data: formatRdata(r.type, r.rdata),
  };
}
