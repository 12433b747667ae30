/**
 * @module admin/app
 * Builds the admin HTTP app (fastify). There is no listen() here, so tests can `inject`. The
 * routes live in admin/routes/ and admin/health-routes.ts. This module wires in what every
 * route shares:
 *   - bearer-token auth (admin/auth.ts);
 *   - JSON-schema validation with the zone format's own TypeBox schemas. Unknown fields are
 *     errors, never silently dropped;
 *   - errors as RFC 9457 problem details (admin/problem.ts);
 *   - a body size limit;
 *   - the OpenAPI 3 description at `GET /openapi.json`, made from the route schemas (every
 *     route is in it, with an operationId, and a response schema for each status it answers:
 *     the error statuses every route shares are added here, from admin/api-schemas.ts);
 *   - the zone document's JSON Schema at `GET /v1/schema/zone.json` (model/zone-json-schema.ts);
 *   - with `MERIDIAN_CHECK_RESPONSES=FILE`, a check of every response against its schema
 *     (admin/response-check.ts; the test suite runs with it);
 *   - with DNS workers (node/workers.ts), a write's response waits until every worker serves
 *     what the write changed (`dnsWorkers.settle()`), so the next query from anywhere sees it.
 */
import { createRequire } from 'node:module';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import type { Logger } from 'pino';
import { Type } from '@sinclair/typebox';
import { OPEN_PATHS, PAGE_PATHS, registerAuth, type Token } from './auth.js';
import { registerHealthRoutes } from './health-routes.js';
import { errorHandler, notFoundHandler } from './problem.js';
import { Liveness, LocalTokenFile, Readiness, commonErrors, ok, problems, serializationView } from './api-schemas.js';
import { isLoopback } from '../address.js';
import { createError } from '../errors.js';
import { installResponseCheck } from './response-check.js';
import { hoistNamedSchemas } from './openapi-components.js';
import { zoneJsonSchemaText } from '../model/zone-json-schema.js';
import { registerZoneRoutes } from './routes/zones.js';
import { registerSimulateRoutes } from './routes/simulate.js';
import { registerDnssecRoutes } from './routes/dnssec.js';
import type { DnssecKeys } from '../state/dnssec.js';
import { registerAuditRoutes, registerOverrideRoutes, OverrideFile } from './routes/overrides.js';
import type { OverrideBackend } from '../cluster/overrides.js';
import type { MemberRecord } from '../cluster/membership.js';
import { parseHostPort } from '../address.js';
import { nodeViews, registerNodeRoutes, type ClusterView } from './routes/nodes.js';
import { registerLbRoutes } from './routes/lb.js';
import { registerDrillRoutes } from './routes/drills.js';
import { DrillRunner } from '../drill/runner.js';
import { registerStatusPage } from './status/route.js';
import { AuditLog } from '../state/audit.js';
import { ZoneStore } from '../state/zone-store.js';
import type { Source } from '../state/source.js';
import type { SnapshotHolder } from '../state/snapshot.js';
import type { VoteStore } from '../health/votes.js';
import type { MetricsRegistry } from './metrics.js';

export interface AdminAppOptions {
  readonly holder: SnapshotHolder;
  readonly source: Source;
  readonly log: Logger;
  /** True once the source's first load has finished. */
  readonly started: () => boolean;
  readonly votes?: VoteStore | null;
  readonly audit?: AuditLog;
  readonly tokens?: readonly Token[];
  /** True while reads need no token (no token configured); default: while `tokens` is empty. */
  readonly openReads?: () => boolean;
  /** The file of the node's own write token (admin/local-token.ts), told to local clients by `GET /v1/auth/local`. */
  readonly localTokenFile?: string | null;
  /** Require tokens for /livez, /readyz and /metrics too. */
  readonly protectProbes?: boolean;
  readonly overrideFile?: OverrideFile | null;
  /** Where override changes are stored (cluster mode: etcd); default: here, and the override file. */
  readonly overrides?: OverrideBackend;
  readonly metrics?: MetricsRegistry | null;
  /** Largest request body in bytes (default 1 MiB). */
  readonly bodyLimit?: number;
  /** The node's DNS address; live drills ask it. Without it, only drill previews work. */
  readonly dns?: { host: string; port: number };
  /** State directory (drill reports). */
  readonly stateDir?: string | undefined;
  /** TLS for the API (`--admin-tls-cert`, `--admin-tls-key`): PEM; none: plain HTTP. */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer } | null;
  /** Cluster mode: membership, etcd reachability (readiness, `GET /v1/nodes`). */
  readonly cluster?: ClusterView | null;
  /** This node's record when it runs alone. */
  readonly self?: () => MemberRecord;
  /** The node's DNS worker processes, when it has them (`--workers N`): writes wait for them, readiness counts them. */
  readonly dnsWorkers?: DnsWorkersView | null;
  /** DNSSEC keys and signing (state/dnssec.ts); without it, the dnssec routes are absent. */
  readonly dnssec?: DnssecKeys | null;
}

/** What the admin API needs of a node's DNS workers (node/workers.ts). */
export interface DnsWorkersView {
  /** Workers configured. */
  readonly count: number;
  /** Workers serving now. */
  serving(): number;
  /** Resolves when every worker that may answer serves the node's state as it is now. */
  settle(): Promise<void>;
}

/** Methods that change state: their responses wait for the DNS workers. */
const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route registered, with whether it is hidden from the OpenAPI description. */
    registeredRoutes: { method: string; url: string; hidden: boolean }[];
    /** Every node of the cluster (just this one when alone), for region status and the status page. */
    nodeViews: () => ReturnType<typeof nodeViews>;
  }
}

export const OPENAPI_INFO = {
  title: 'Meridian admin API',
  version: '1',
  description: 'Zones, records, regions, pools, health, overrides, the answer simulator and the audit log of a Meridian node. See docs/api.md.',
};

/** The tags of the OpenAPI document, in the order a generated client or a reader sees them. */
export const OPENAPI_TAGS = [
  { name: 'zones', description: 'Zones as documents: list, create, import, read, replace, delete, export.' },
  { name: 'records', description: 'Plain RRsets and policy records of a zone.' },
  { name: 'regions', description: 'Regions, with their derived status; per-zone region definitions.' },
  { name: 'pools', description: 'Pools of endpoints, and their endpoints.' },
  { name: 'health', description: 'The health view: every endpoint and its votes; votes from standalone checkers.' },
  { name: 'overrides', description: 'Drain, force up, force down.' },
  { name: 'dnssec', description: 'Online signing: keys, DS records for the parent, rollovers.' },
  { name: 'audit', description: 'Who changed what.' },
  { name: 'simulate', description: 'The answer DNS would give, and why.' },
  { name: 'drills', description: 'Failover drills: preview, live, abort.' },
  { name: 'cluster', description: 'Nodes and checkers of the cluster.' },
  { name: 'probes', description: 'Liveness, readiness, metrics.' },
  { name: 'status', description: 'The status page.' },
  { name: 'meta', description: "This description, and the zone document's JSON Schema." },
];

// Fastify's own serializer compiler, resolved from fastify's package as fastify resolves it.
const defaultSerializerFactory = (
  createRequire(createRequire(import.meta.url).resolve('fastify'))('@fastify/fast-json-stringify-compiler') as () => SerializerFactory
)();
type SerializerFactory = (externalSchemas: unknown, options: unknown) => (route: { schema?: unknown }) => (data: unknown) => string;

function serializerFactory(externalSchemas: unknown, options: unknown) {
  const inner = defaultSerializerFactory(externalSchemas, options);
  // One serializer per schema: the Problem of every route's every error status is one schema.
  const made = new WeakMap<object, (data: unknown) => string>();
  return (route: { schema?: unknown }) => {
    const view = serializationView(route.schema) as object;
    let fn = made.get(view);
    if (!fn) made.set(view, (fn = inner({ ...route, schema: view })));
    return fn;
  };
}

export async function buildAdminApp(opts: AdminAppOptions): Promise<FastifyInstance> {
  // No per-request info lines (a probe every few seconds would drown the log); errors still log.
  const app = Fastify({
    // TLS when given (node/node.ts swaps in a new certificate with setSecureContext on a change).
    ...(opts.tls ? { https: { cert: opts.tls.cert, key: opts.tls.key } } : {}),
    loggerInstance: opts.log as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: opts.bodyLimit ?? 1 << 20,
    // Responses are serialized through their documented schemas (fast-json-stringify, as fastify
    // does by default), in the form admin/api-schemas.ts `serializationView` gives them.
    schemaController: { compilersFactory: { buildSerializer: serializerFactory } },
    ajv: {
      // Unknown fields are refused, never dropped: a typo must not be lost silently.
      customOptions: { removeAdditional: false, allErrors: true, coerceTypes: 'array', useDefaults: false, strictTypes: false },
      plugins: [((ajv: { addKeyword(def: object): unknown }) => ajv.addKeyword({ keyword: 'x-error', schemaType: 'string' })) as never],
    },
  });
  // Every route, as registered: the OpenAPI test checks that each one is documented.
  const routes: { method: string; url: string; hidden: boolean }[] = [];
  app.addHook('onRoute', (r) => {
    for (const m of ([] as string[]).concat(r.method))
      routes.push({ method: m, url: r.url, hidden: (r.schema as { hide?: boolean } | undefined)?.hide === true });
    // The error statuses every route shares (auth, parsing, validation, internal errors) are
    // documented, and serialized, on every route; a route lists only its own on top.
    const schema = (r.schema ??= {}) as { response?: Record<string, unknown>; querystring?: unknown; hide?: boolean };
    if (schema.hide) return;
    const method = ([] as string[]).concat(r.method)[0]!;
    const auth = !PAGE_PATHS.has(r.url);
    const response = (schema.response ??= {});
    for (const [status, entry] of Object.entries(problems(...commonErrors(method, { auth, query: schema.querystring !== undefined }))))
      response[status] ??= entry;
    if (OPEN_PATHS.has(r.url))
      (schema as { description?: string }).description ??= 'Open unless the node runs with --protect-probes (then a token is needed, and 401/429 apply).';
  });
  app.decorate('registeredRoutes', routes);
  const workers = opts.dnsWorkers ?? null;
  if (workers) {
    // A write is done when DNS answers with it: hold its response until every worker serves the
    // state it left (a refused write changed nothing, so it need not wait).
    app.addHook('onSend', async (req, reply, payload) => {
      if (WRITES.has(req.method) && reply.statusCode < 400) await workers.settle();
      return payload;
    });
  }
  const checkFile = process.env['MERIDIAN_CHECK_RESPONSES'];
  if (checkFile) installResponseCheck(app, checkFile);
  const audit = opts.audit ?? new AuditLog(undefined);
  const dnssec = opts.dnssec ?? null;
  const store = new ZoneStore(opts.source, audit, dnssec ? (zone) => dnssec.prepare(zone) : undefined);

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: OPENAPI_INFO,
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
      tags: OPENAPI_TAGS,
    },
    // Named schemas (Problem, ZoneDocument, ...) once, under components/schemas.
    transformObject: (documentObject) => hoistNamedSchemas((documentObject as { openapiObject: object }).openapiObject) as never,
  });

  registerAuth(app, { tokens: opts.tokens ?? [], protectProbes: opts.protectProbes ?? false, ...(opts.openReads ? { openReads: opts.openReads } : {}) });

  app.addContentTypeParser(['text/plain', 'text/dns'], { parseAs: 'string' }, (_req, body, done) => done(null, body));

  app.setErrorHandler(errorHandler(opts.bodyLimit ?? 1 << 20));
  app.setNotFoundHandler(notFoundHandler);

  app.get(
    '/livez',
    { schema: { operationId: 'getLiveness', tags: ['probes'], summary: 'The process is alive', security: [], response: { 200: ok(Liveness, 'Alive') } } },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        operationId: 'getReadiness',
        tags: ['probes'],
        summary: 'Zones are loaded and the first health round is done (503 with the reason otherwise)',
        security: [],
        response: {
          200: ok(Readiness, 'Ready, or degraded (etcd unreachable; DNS still answers from the last snapshot)'),
          503: ok(Readiness, 'Not ready, and why'),
        },
      },
    },
    async (_req, reply) => {
      const zones = opts.holder.current.catalog.size;
      if (!opts.started()) return reply.code(503).send({ status: 'not ready', reason: 'zones are still loading' });
      const cluster = opts.cluster;
      if (cluster && !cluster.loaded()) return reply.code(503).send({ status: 'not ready', reason: 'etcd unreachable: no configuration loaded yet' });
      if (zones === 0) return reply.code(503).send({ status: 'not ready', reason: 'no zone loaded' });
      if (opts.votes && !opts.votes.hasFirstRound())
        return reply.code(503).send({ status: 'not ready', reason: 'the first round of health checks is not done' });
      const dnsWorkers = workers ? { configured: workers.count, serving: workers.serving() } : undefined;
      if (dnsWorkers && dnsWorkers.serving === 0)
        return reply.code(503).send({ status: 'not ready', reason: 'no DNS worker is serving', dns_workers: dnsWorkers });
      // Without etcd the node still answers DNS from its last snapshot: degraded, not unready.
      if (cluster && !cluster.reachable())
        return {
          status: 'degraded',
          reason: 'degraded: etcd unreachable',
          zones,
          revision: cluster.self().revision,
          ...(dnsWorkers ? { dns_workers: dnsWorkers } : {}),
        };
      // A worker being replaced: the others answer (the kernel moves its share to them).
      if (dnsWorkers && dnsWorkers.serving < dnsWorkers.configured)
        return {
          status: 'degraded',
          reason: `degraded: ${dnsWorkers.serving} of ${dnsWorkers.configured} DNS workers serving`,
          zones,
          dns_workers: dnsWorkers,
        };
      return { status: 'ready', zones, ...(cluster ? { revision: cluster.self().revision } : {}), ...(dnsWorkers ? { dns_workers: dnsWorkers } : {}) };
    },
  );

  // How `meridian ctl` on this machine finds the node's own write token (cli/admin-client.ts): the
  // path only, and only to a client on loopback; the file's permissions decide who may use it.
  app.get(
    '/v1/auth/local',
    {
      schema: {
        operationId: 'getLocalTokenFile',
        tags: ['meta'],
        summary: 'Where this node keeps its own write token (asked from this machine; 404 when it has none, or to another machine)',
        response: { 200: ok(LocalTokenFile, 'The file; reading it needs the permissions of the user the node runs as'), ...problems(404) },
      },
    },
    async (req, reply) => {
      const file = opts.localTokenFile;
      if (!file || !isLoopback(req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? ''))
        throw createError('MRD_ERR_API_NOT_FOUND', 'this node keeps no write token of its own for this client').titled('No local token');
      return reply.send({ token_file: file });
    },
  );

  app.get(
    '/openapi.json',
    {
      schema: {
        operationId: 'getOpenApi',
        tags: ['meta'],
        summary: 'This OpenAPI 3 description of the admin API',
        response: { 200: ok(Type.Object({}, { additionalProperties: true }), 'The OpenAPI document') },
      },
    },
    async () => app.swagger(),
  );

  // Generated from the same schemas that validate zone files and request bodies; editors use it
  // through the modeline in zones/*.yaml (docs/zones.md).
  const zoneSchema = zoneJsonSchemaText();
  app.get(
    '/v1/schema/zone.json',
    {
      schema: {
        operationId: 'getZoneSchema',
        tags: ['meta'],
        summary: 'The JSON Schema of a zone document (the file schema/zone.schema.json)',
        response: {
          200: {
            description: 'JSON Schema (draft-07) of a YAML or JSON zone document',
            content: { 'application/schema+json': { schema: Type.Object({}, { additionalProperties: true }) } },
          },
        },
      },
    },
    async (_req, reply) => reply.type('application/schema+json; charset=utf-8').send(zoneSchema),
  );

  if (opts.metrics) opts.metrics.register(app);
  registerZoneRoutes(app, { store, holder: opts.holder, source: opts.source });
  registerLbRoutes(app, { store, holder: opts.holder, votes: opts.votes ?? null });
  registerHealthRoutes(app, { holder: opts.holder, votes: opts.votes ?? null });
  const overrides = opts.overrides ?? OverrideFile.backend(opts.holder.health, opts.overrideFile ?? null);
  registerOverrideRoutes(app, {
    health: opts.holder.health,
    audit,
    backend: overrides,
    known: (t) => {
      for (const zone of opts.holder.current.catalog.zones) {
        const p = zone.policies;
        if (!p) continue;
        if ('region' in t && p.regions.has(t.region)) return true;
        if ('endpoint' in t) for (const pool of p.pools.values()) if (pool.endpoints.some((e) => e.key === t.endpoint)) return true;
      }
      return false;
    },
  });
  registerSimulateRoutes(app, { holder: opts.holder });
  if (dnssec) registerDnssecRoutes(app, { holder: opts.holder, dnssec, audit });
  registerAuditRoutes(app, { audit });
  // In a cluster a live drill watches every serving node's DNS, not only this one's.
  const peers = (): { id: string; host: string; port: number }[] => {
    const c = opts.cluster;
    if (!c) return [];
    const me = c.self().id;
    return c.members().flatMap((m) => {
      if (m.kind !== 'node' || m.id === me || !m.dns) return [];
      try {
        const hp = parseHostPort(m.dns, 'dns');
        return [{ id: m.id, host: hp.host, port: hp.port }];
      } catch {
        return [];
      }
    });
  };
  const runner = new DrillRunner({
    peers,
    holder: opts.holder,
    health: opts.holder.health,
    audit,
    dns: opts.dns ?? { host: '127.0.0.1', port: 53 },
    stateDir: opts.stateDir,
    overrides,
  });
  app.addHook('onClose', async () => runner.stopAll());
  registerDrillRoutes(app, { holder: opts.holder, runner });
  const single =
    opts.self ??
    (() => ({
      id: 'local',
      kind: 'node' as const,
      region: 'local',
      dns: opts.dns ? `${opts.dns.host}:${opts.dns.port}` : null,
      admin: null,
      version: '',
      revision: opts.holder.current.version,
      active_checker: false,
      started_at: new Date(0).toISOString(),
      seen_at: new Date().toISOString(),
    }));
  registerNodeRoutes(app, { cluster: opts.cluster ?? null, single });
  app.decorate('nodeViews', () => nodeViews(opts.cluster ?? null, single));
  registerStatusPage(app);
  return app;
}
