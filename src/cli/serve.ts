/**
 * @module cli/serve
 * `meridian serve`: loads the zones directory, serves DNS over UDP and TCP, and the admin API.
 * Stops gracefully on SIGTERM/SIGINT: stop accepting, finish in-flight work, exit 0.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { buildAdminApp } from '../admin/app.js';
import { DnsServer } from '../dns/server.js';
import { createLogger, type Logger } from '../log.js';
import { keyToPresentation } from '../dns/name.js';
import { FileSource } from '../state/file-source.js';
import { SnapshotHolder } from '../state/snapshot.js';
import { createError } from '../errors.js';
import { formatHostPort, parseHostPort } from './args.js';
import { HealthService } from '../health/service.js';
import { LatencyFile } from '../state/latency-file.js';
import { loadTokens, type Token } from '../admin/auth.js';
import { MetricsRegistry } from '../admin/metrics.js';
import { OverrideFile } from '../admin/routes/overrides.js';
import { AuditLog } from '../state/audit.js';
import { isLoopback, nodeIdOf, positiveInt } from './args.js';
import os from 'node:os';
import { Cluster, MERIDIAN_VERSION } from '../cluster/runtime.js';
import { ETCD_ARGS, etcdConnectionOf, type EtcdConnection } from '../cluster/etcd-client.js';
import { Lifetime } from './lifetime.js';
import { Notifier, parseNotifyTargets, type NotifyTarget } from '../dns/notify.js';
import type { Source } from '../state/source.js';

export const SERVE_HELP = `Usage: meridian serve [options]

Serve the zones in a directory (or, with --etcd, a cluster's zones) over DNS (UDP and TCP on one
port) with an admin API.

Options:
  --zones DIR            zone files to serve (*.zone, *.yaml); default ./zones
  --dns HOST:PORT        DNS address; default 127.0.0.1:5353 (port 0 picks a free port)
  --admin HOST:PORT      admin API address; default 127.0.0.1:8053
  --region ID            the region this node's health checker votes for; default "local"
  --state DIR            keep health votes here for a warm start (docs/health.md); default: none
  --latency FILE         a latency table file, reloaded when it changes (docs/policies/latency.md)
  --no-checks            do not run health checks from this node (votes still come from checkers)
  --tokens FILE          admin API bearer tokens: a YAML/JSON list of { name, role: read|write, token }
                         (also MERIDIAN_TOKENS="name:role:token,..."); without any, the admin API is
                         open and must listen on loopback
  --protect-probes       require a token for /livez, /readyz and /metrics too
  --notify HOST:PORT[,…] send DNS NOTIFY (RFC 1996) to these secondaries when a zone's serial changes
  --max-udp-payload N    largest UDP answer in octets (RFC 6891); default 1232
  --tcp-idle-timeout MS  close idle TCP connections after MS; default 10000
  --tcp-max-connections N  concurrent TCP connections; default 1000
  --no-cache             disable the encoded-answer cache (for debugging)
  -h, --help             show this help

Cluster mode (docs/operations.md, "Running a cluster"):
  --etcd URL[,URL…]      take zones, overrides, the latency table and votes from etcd instead of
                         --zones, and share them with every other node
  --etcd-prefix PREFIX   the cluster's key prefix; default /meridian
  --etcd-ca FILE         CA certificate (PEM) that signed etcd's certificate (https://)
  --etcd-cert FILE       client certificate (PEM), when etcd requires one
  --etcd-key FILE        the client certificate's private key (PEM)
  --etcd-user NAME       an etcd user (etcd auth); the password comes from MERIDIAN_ETCD_PASSWORD
  --node-id ID           this node's id in the cluster; default <hostname>-<pid>
  --lease-ttl SECONDS    TTL of the checker election and membership leases: a dead node's region
                         checks move to a standby within it; default 5

Environment: MERIDIAN_LOG_LEVEL (trace|debug|info|warn|error; default info)
`;

export interface ServeOptions {
  zonesDir: string;
  dns: { host: string; port: number };
  admin: { host: string; port: number };
  region: string;
  maxUdpPayload: number;
  tcpIdleTimeoutMs: number;
  tcpMaxConnections: number;
  useCache: boolean;
  /** Directory for health state (warm start); undefined: none. */
  stateDir?: string | undefined;
  /** A latency table file to load and watch. */
  latencyFile?: string | undefined;
  /** Run health checks from this node (default true). */
  runChecks?: boolean;
  /** Admin API tokens file. */
  tokensFile?: string | undefined;
  protectProbes?: boolean;
  /** Secondaries to NOTIFY when a zone's serial changes. */
  notify?: NotifyTarget[];
  /** Cluster mode: how to reach etcd; undefined runs on the zones directory. */
  etcd?: EtcdConnection | undefined;
  nodeId?: string | undefined;
  leaseTtlSeconds?: number;
}

/** Parses `serve` arguments; throws MRD_ERR_CLI_USAGE on bad ones. Returns null for --help. */
export function parseServeArgs(argv: string[]): ServeOptions | null {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        zones: { type: 'string', default: './zones' },
        dns: { type: 'string', default: '127.0.0.1:5353' },
        admin: { type: 'string', default: '127.0.0.1:8053' },
        region: { type: 'string', default: 'local' },
        'max-udp-payload': { type: 'string', default: '1232' },
        'tcp-idle-timeout': { type: 'string', default: '10000' },
        'tcp-max-connections': { type: 'string', default: '1000' },
        'no-cache': { type: 'boolean', default: false },
        state: { type: 'string' },
        latency: { type: 'string' },
        'no-checks': { type: 'boolean', default: false },
        tokens: { type: 'string' },
        'protect-probes': { type: 'boolean', default: false },
        notify: { type: 'string' },
        ...ETCD_ARGS,
        'node-id': { type: 'string' },
        'lease-ttl': { type: 'string', default: '5' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw createError('MRD_ERR_CLI_USAGE', (err as Error).message);
  }
  if (values.help) return null;
  return {
    zonesDir: path.resolve(values.zones),
    dns: parseHostPort(values.dns, '--dns'),
    admin: parseHostPort(values.admin, '--admin'),
    region: values.region,
    maxUdpPayload: positiveInt(values['max-udp-payload'], '--max-udp-payload', 512, 65535),
    tcpIdleTimeoutMs: positiveInt(values['tcp-idle-timeout'], '--tcp-idle-timeout', 1, 3_600_000),
    tcpMaxConnections: positiveInt(values['tcp-max-connections'], '--tcp-max-connections', 1, 1_000_000),
    useCache: !values['no-cache'],
    stateDir: values.state === undefined ? undefined : path.resolve(values.state),
    latencyFile: values.latency === undefined ? undefined : path.resolve(values.latency),
    runChecks: !values['no-checks'],
    tokensFile: values.tokens === undefined ? undefined : path.resolve(values.tokens),
    protectProbes: values['protect-probes'],
    notify: values.notify === undefined ? [] : parseNotifyTargets(values.notify),
    etcd: etcdConnectionOf(values),
    nodeId: values['node-id'] === undefined ? undefined : nodeIdOf(values['node-id']),
    leaseTtlSeconds: positiveInt(values['lease-ttl'], '--lease-ttl', 1, 600),
  };
}

/** A running node: what `serve` starts, and what tests start in-process. */
export interface RunningNode {
  readonly holder: SnapshotHolder;
  readonly dns: { host: string; port: number };
  readonly admin: { host: string; port: number };
  readonly source: Source;
  readonly health: HealthService;
  /** Cluster mode's etcd wiring; null on a single node. */
  readonly cluster: Cluster | null;
  /** The admin app (for tests that look at its routes). */
  readonly app: FastifyInstance;
  stop(): Promise<void>;
}

/** Starts a node: zones, DNS and admin. */
export async function startNode(opts: ServeOptions, log: Logger): Promise<RunningNode> {
  let tokens: Token[];
  try {
    tokens = loadTokens(opts.tokensFile, process.env['MERIDIAN_TOKENS']);
  } catch (err) {
    throw createError('MRD_ERR_CONFIG', `admin tokens: ${(err as Error).message}`);
  }
  if (tokens.length === 0 && !isLoopback(opts.admin.host)) {
    throw createError('MRD_ERR_CONFIG', `the admin API would listen on ${opts.admin.host} with no token configured; give --tokens FILE or MERIDIAN_TOKENS, or listen on loopback`);
  }
  if (opts.etcd && opts.latencyFile) throw createError('MRD_ERR_CONFIG', '--latency is for a single node; in cluster mode the latency table lives in etcd (meridian cluster import --latency FILE)');
  const holder = new SnapshotHolder();
  const metrics = new MetricsRegistry(holder);
  const cluster = opts.etcd
    ? new Cluster({ etcd: opts.etcd, region: opts.region, id: opts.nodeId, kind: 'node', leaseTtlSeconds: opts.leaseTtlSeconds ?? 5, checks: opts.runChecks ?? true }, holder, log)
    : null;
  const source: Source = cluster ? cluster.source : new FileSource({ dir: opts.zonesDir, holder, log: log.child({ component: 'zones' }) });
  source.observeLoad = metrics.observeLoad;
  if (cluster) metrics.cluster = cluster;
  let latency: LatencyFile | undefined;
  if (opts.latencyFile) {
    try {
      latency = new LatencyFile(opts.latencyFile, holder.live, log.child({ component: 'latency' }));
    } catch (err) {
      throw createError('MRD_ERR_CONFIG', `--latency: ${(err as Error).message}`);
    }
  }
  let health: HealthService;
  health = new HealthService({
    holder,
    region: opts.region,
    log,
    runChecks: opts.runChecks ?? true,
    // In a cluster the votes in etcd are the warm start; the state directory keeps drills and audit.
    stateDir: cluster ? undefined : opts.stateDir,
    ...(cluster ? { publish: cluster.publishFor((votes) => void health.store?.record(votes)), active: false } : {}),
  });
  if (health.store) health.store.observeVote = metrics.observeVote;
  const audit = new AuditLog(opts.stateDir);
  let started = false;
  if (cluster) {
    // In a cluster the health service listens for snapshot swaps before the first load, so the
    // vote store tracks the first snapshot's endpoints when the votes in etcd arrive.
    health.start();
    cluster.attach(health);
    cluster.attachAudit(audit);
    await cluster.start();
  } else {
    // On a single node the zones load first, so warm-start votes (--state) find their endpoints.
    await source.start();
    health.start();
  }
  started = true;
  const overrideFile = opts.stateDir && !cluster ? new OverrideFile(opts.stateDir, holder.health) : null;
  const restored = overrideFile?.load() ?? 0;
  if (restored > 0) log.info({ overrides: restored }, 'overrides restored');
  const notifier = opts.notify && opts.notify.length > 0 ? new Notifier({ holder, targets: opts.notify, log: log.child({ component: 'notify' }) }) : null;
  notifier?.start();

  const dns = new DnsServer({
    host: opts.dns.host,
    port: opts.dns.port,
    holder,
    log: log.child({ component: 'dns' }),
    pipeline: { maxUdpPayload: opts.maxUdpPayload, useCache: opts.useCache },
    tcpIdleTimeoutMs: opts.tcpIdleTimeoutMs,
    tcpMaxConnections: opts.tcpMaxConnections,
    observe: metrics.observeQuery,
    latency: metrics.observeLatency,
  });
  const dnsAddr = await dns.start();

  const startedAt = new Date().toISOString();
  let adminAddress: string | null = null;
  const app: FastifyInstance = await buildAdminApp({
    holder,
    source,
    log: log.child({ component: 'admin' }),
    started: () => started,
    votes: health.store,
    audit,
    tokens,
    protectProbes: opts.protectProbes ?? false,
    overrideFile,
    metrics,
    dns: dnsAddr,
    stateDir: opts.stateDir,
    self: () => ({
      id: opts.nodeId ?? os.hostname(),
      kind: 'node',
      region: opts.region,
      dns: formatHostPort(dnsAddr.host, dnsAddr.port),
      admin: adminAddress,
      version: MERIDIAN_VERSION,
      revision: holder.current.version,
      active_checker: health.active,
      started_at: startedAt,
      seen_at: new Date().toISOString(),
    }),
    ...(cluster
      ? {
          overrides: cluster.overrides,
          cluster: {
            reachable: () => cluster.client.reachable,
            loaded: () => cluster.source.loaded,
            members: () => cluster.membership.members(),
            self: () => cluster.self(),
            checkers: () => cluster.election?.holders() ?? new Map(),
          },
        }
      : {}),
  });
  try {
    await app.listen({ host: opts.admin.host, port: opts.admin.port });
  } catch (err) {
    await dns.stop();
    await health.stop();
    latency?.close();
    await notifier?.stop();
    await (cluster ?? source).stop();
    throw Object.assign(createError('MRD_ERR_LISTEN', formatHostPort(opts.admin.host, opts.admin.port), (err as Error).message), { cause: err });
  }
  const addr = app.server.address();
  const adminPort = typeof addr === 'object' && addr ? addr.port : opts.admin.port;
  adminAddress = formatHostPort(opts.admin.host, adminPort);
  cluster?.setAddresses(formatHostPort(dnsAddr.host, dnsAddr.port), adminAddress);

  const snap = holder.current;
  log.info(
    {
      region: opts.region,
      ...(cluster ? { cluster: { id: cluster.id, etcd: opts.etcd!.endpoints, prefix: cluster.layout.prefix, revision: cluster.source.revision() } } : { zonesDir: opts.zonesDir }),
      dns: formatHostPort(dnsAddr.host, dnsAddr.port),
      admin: formatHostPort(opts.admin.host, adminPort),
      zones: [...snap.catalog.zones].map((z) => ({ zone: keyToPresentation(z.origin), serial: z.serial, records: z.recordCount, policies: z.policies?.records.length ?? 0 })),
      checks: health.checker?.states().length ?? 0,
    },
    'meridian serving',
  );

  return {
    holder,
    source,
    cluster,
    dns: dnsAddr,
    admin: { host: opts.admin.host, port: adminPort },
    health,
    app,
    async stop() {
      await app.close();
      await dns.stop();
      await health.stop();
      latency?.close();
      await notifier?.stop();
      await (cluster ?? source).stop();
    },
  };
}

/** The `serve` command: runs until SIGTERM or SIGINT. */
export async function serveCommand(argv: string[]): Promise<number> {
  const opts = parseServeArgs(argv);
  if (opts === null) {
    process.stdout.write(SERVE_HELP);
    return 0;
  }
  const log = createLogger();
  const node = await startNode(opts, log);
  // Lives until SIGTERM/SIGINT, whatever etcd does (cli/lifetime.ts).
  await new Lifetime(log).ended;
  try {
    await node.stop();
    log.info('stopped');
    return 0;
  } catch (err) {
    log.error({ err }, 'stop failed');
    return 1;
  }
}
