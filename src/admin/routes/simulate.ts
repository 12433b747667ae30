/**
 * @module admin/routes/simulate
 * `GET /v1/simulate?name=&type=&client=[&down_regions=a,b][&down_endpoints=pool/id,...]`: the
 * exact answer the DNS server would give now, and why. It builds a real DNS query (with the
 * client as an EDNS Client Subnet option when it is a subnet, or as the source address when it
 * is an address) and runs it through dns/pipeline.ts `handleQuery`, the same function the UDP
 * and TCP servers call, with a trace collector and, for what-if questions, a health view in
 * which the named regions or endpoints are down. Nothing is changed.
 */
import { Type } from '@sinclair/typebox';
import dnsPacket from 'dns-packet';
import type { FastifyInstance } from 'fastify';
import type {} from '@fastify/swagger';
import { handleQuery, type Explain } from '../../dns/pipeline.js';
import { clientFromText } from '../../policy/client.js';
import { locate } from '../../policy/geoip.js';
import { withEndpointsDown, withRegionsDown, type HealthView } from '../../policy/health-view.js';
import type { SnapshotHolder } from '../../state/snapshot.js';
import { refuse } from '../problem.js';
import { Simulation, ok } from '../api-schemas.js';

const Query = Type.Object({
  name: Type.String({ minLength: 1, description: 'The name asked for.' }),
  type: Type.Optional(Type.String({ description: 'Record type (default A).' })),
  client: Type.Optional(Type.String({ description: 'Client address (`192.0.2.1`) or subnet (`192.0.2.0/24`, sent as ECS). Default: 127.0.0.1.' })),
  down_regions: Type.Optional(Type.String({ description: 'What-if: comma-separated regions to treat as down.' })),
  down_endpoints: Type.Optional(Type.String({ description: 'What-if: comma-separated endpoint keys (`pool/id`) to treat as down.' })),
});

export function registerSimulateRoutes(app: FastifyInstance, opts: { holder: SnapshotHolder }): void {
  app.get('/v1/simulate', { schema: { operationId: 'simulate', tags: ['simulate'], summary: 'The answer the DNS server would give now to this client, and why', querystring: Query, response: { 200: ok(Simulation, 'The answer and the explanation') } } }, async (req, reply) => {
    const q = req.query as { name: string; type?: string; client?: string; down_regions?: string; down_endpoints?: string };
    const type = (q.type ?? 'A').toUpperCase();
    const clientText = q.client ?? '127.0.0.1';
    const client = clientFromText(clientText);
    if (!client) return refuse(reply, 'MRD_ERR_API_BAD_REQUEST', 'Bad client', `client: "${clientText}" is not an IP address or subnet`, [{ field: 'client', message: 'must be an IP address or CIDR subnet' }]);
    const asEcs = clientText.includes('/');
    let msg: Buffer;
    try {
      msg = dnsPacket.encode({
        type: 'query',
        id: 1,
        flags: dnsPacket.RECURSION_DESIRED,
        questions: [{ name: q.name.replace(/\.$/, ''), type: type as dnsPacket.RecordType }],
        additionals: [
          {
            type: 'OPT',
            name: '.',
            udpPayloadSize: 1232,
            options: asEcs ? [{ code: 'CLIENT_SUBNET', family: client.family === 4 ? 1 : 2, sourcePrefixLength: client.sourcePrefix, scopePrefixLength: 0, ip: client.text }] : [],
          } as unknown as dnsPacket.Answer,
        ],
      });
    } catch (err) {
      return refuse(reply, 'MRD_ERR_API_BAD_REQUEST', 'Bad question', `${q.name} ${type}: ${(err as Error).message}`, [{ field: 'type', message: 'must be a record type dns-packet knows' }]);
    }
    const snapshot = opts.holder.current;
    let health: HealthView = snapshot.health;
    const whatIf: Record<string, string[]> = {};
    if (q.down_regions) {
      const regions = q.down_regions.split(',').map((s) => s.trim()).filter(Boolean);
      health = withRegionsDown(health, new Set(regions));
      whatIf['down_regions'] = regions;
    }
    if (q.down_endpoints) {
      const eps = q.down_endpoints.split(',').map((s) => s.trim()).filter(Boolean);
      health = withEndpointsDown(health, new Set(eps));
      whatIf['down_endpoints'] = eps;
    }
    const explain: Explain = { trace: [], health };
    const out = handleQuery(msg, { transport: 'tcp', remoteAddress: asEcs ? '127.0.0.1' : client.text }, { snapshots: { current: snapshot }, options: { maxUdpPayload: 1232, useCache: true }, explain });
    const raw = Array.isArray(out) ? out[0]! : out!;
    const res = dnsPacket.decode(raw) as dnsPacket.DecodedPacket & { rcode?: string };
    type Rec = { name: string; type: string; ttl?: number; data?: unknown };
    const opt = (res.additionals ?? []).find((a) => a.type === 'OPT') as { options?: { code: number; sourcePrefixLength?: number; scopePrefixLength?: number }[] } | undefined;
    const ecs = opt?.options?.find((o) => o.code === 8);
    const loc = locate(client);
    return {
      question: { name: q.name, type, client: clientText, as: asEcs ? 'ecs' : 'source address' },
      answer: {
        rcode: res.rcode,
        aa: (res.flags! & 0x400) !== 0,
        records: ((res.answers ?? []) as Rec[]).map((a) => ({ name: a.name, type: a.type, ttl: a.ttl, data: a.data })),
        authority: ((res.authorities ?? []) as Rec[]).map((a) => ({ name: a.name, type: a.type, ttl: a.ttl })),
        ecs_scope: ecs ? ecs.scopePrefixLength : null,
      },
      explanation: {
        policy_record: explain.record ? { name: explain.record.owner, ttl: explain.record.ttlSeconds, on_all_down: explain.record.onAllDown.kind } : null,
        geolocation: loc.country ? { country: loc.country, subdivision: loc.subdivision || null, continent: loc.continent, lat: loc.lat, lon: loc.lon, geoip_block_prefix: loc.scope } : null,
        path: explain.trace,
        chosen: explain.decision?.endpoints.map((e) => ({ endpoint: e.key, value: e.value, region: e.region })) ?? [],
        all_down_fallback: explain.decision?.allDown ?? false,
        decision_scope: explain.decision?.scope ?? 0,
        what_if: Object.keys(whatIf).length > 0 ? whatIf : null,
      },
    };
  });
}
