/**
 * @module node/node
 * The node's wiring: {@link startNode} puts together what one Meridian node runs — the zones
 * source (a directory, or etcd in cluster mode), the snapshot holder, health checks, NOTIFY, the
 * DNS server (in this process, or `--workers N` DNS worker processes fed from this one's
 * snapshots: node/workers.ts) and the admin API — starts them in order, and stops them in reverse. `meridian serve`
 * (cli/serve.ts) calls it with options from its flags, environment and config file, and tests call
 * it in-process (test/support/tools.ts); neither adds wiring of its own. {@link RunningNode.reload}
 * is what SIGHUP does, without the signal handling (which is the CLI's).
 */
import fs from 'node:fs';
import type https from 'node:https';
import os from 'node:os';
import type { FastifyInstance } from 'fastify';
import { buildAdminApp } from '../admin/app.js';
import { loadTokens, type Token } from '../admin/auth.js';
import { loadLocalToken, localTokenPath, type LocalToken } from '../admin/local-token.js';
import { AdminTls } from '../admin/tls.js';
import { MetricsRegistry } from '../admin/metrics.js';
import { OverrideFile } from '../admin/routes/overrides.js';
import { formatHostPort, isLoopback } from '../address.js';
import type { EtcdConnection } from '../cluster/etcd-client.js';
import { Cluster, MERIDIAN_VERSION } from '../cluster/runtime.js';
import { keyToPresentation } from '../proto/name.js';
import { Notifier, type NotifyTarget } from '../dns/notify.js';
import { DnsServer, type DnsAddress } from '../dns/server.js';
import { DEFAULT_PIPELINE_OPTIONS } from '../dns/pipeline.js';
import { CookieJar } from '../dns/cookies.js';
import { CookieSecrets, FileCookieSecrets } from '../dns/cookie-secrets.js';
import { DEFAULT_RRL, ResponseRateLimiter, type RrlOptions } from '../dns/rrl.js';
import { DEFAULT_TCP_PER_CLIENT, type TcpStats } from '../dns/tcp.js';
import { createError } from '../errors.js';
import { HealthService } from '../health/service.js';
import type { Logger } from '../log.js';
import { AuditLog } from '../state/audit.js';
import { FileSource } from '../state/file-source.js';
import { LatencyFile } from '../state/latency-file.js';
import { GeoipFile } from '../state/geoip-file.js';
import { setEmbeddedPreload } from '../policy/geoip.js';
import { SnapshotHolder } from '../state/snapshot.js';
import { DnssecKeys, FileKeyStore, NoKeyStore, type KeyStore } from '../state/dnssec.js';
import type { Source } from '../state/source.js';
import { planDns, type UdpIoChoice } from './dns-plan.js';
import { DnsWorkers } from './workers.js';

/** What a node runs with: `meridian serve`'s options once parsed (cli/serve.ts `serveOptionsOf`). */
export interface ServeOptions {
  zonesDir: string;
  dns: { host: string; port: number };
  admin: { host: string; port: number };
  region: string;
  maxUdpPayload: number;
  tcpIdleTimeoutMs: number;
  tcpMaxConnections: number;
  /** Connections one client may hold (IPv4 address, IPv6 /64); default {@link DEFAULT_TCP_PER_CLIENT}, at most tcpMaxConnections. */
  tcpMaxConnectionsPerClient?: number;
  useCache: boolean;
  /** DNS processes: 1 (default) answers in this process; N > 1 starts N DNS workers sharing the port (node/workers.ts). */
  workers?: number;
  /** How UDP moves (default auto: batched when the native part loads, else node:dgram, said once). */
  udpIo?: UdpIoChoice;
  /** SO_RCVBUF asked for each UDP socket, octets (default 4 MiB; 0: the system's). */
  udpRecvBufferBytes?: number;
  /** Response rate limiting on UDP (dns/rrl.ts); default {@link DEFAULT_RRL}; a rate of 0 turns it off. */
  rrl?: RrlOptions;
  /** Directory for health state (warm start); undefined: none. */
  stateDir?: string | undefined;
  /** A latency table file to load and watch. */
  latencyFile?: string | undefined;
  /** A MaxMind DB file to locate clients with (default: the embedded geoip-lite), loaded and watched. */
  geoipDb?: string | undefined;
  /** Run health checks from this node (default true). */
  runChecks?: boolean;
  /** Admin API tokens file. */
  tokensFile?: string | undefined;
  /** Where to keep the node's own write token when no token is configured (admin/local-token.ts). */
  adminTokenFile?: string | undefined;
  /** TLS for the admin API: PEM certificate (chain) and key files, reloaded on change and SIGHUP. */
  adminTls?: { certFile: string; keyFile: string } | undefined;
  /** Let the admin API listen beyond loopback over plain HTTP (the network is trusted). */
  adminTrustedNetwork?: boolean;
  protectProbes?: boolean;
  /** Secondaries to NOTIFY when a zone's serial changes. */
  notify?: NotifyTarget[];
  /** Cluster mode: how to reach etcd; undefined runs on the zones directory. */
  etcd?: EtcdConnection | undefined;
  nodeId?: string | undefined;
  leaseTtlSeconds?: number;
  /** pino level (`--log-level`, MERIDIAN_LOG_LEVEL); default info. */
  logLevel?: string;
  /** The config file the options were read from, if any (re-read on SIGHUP). */
  configFile?: string | undefined;
}

/** A running node: what `serve` starts, and what tests start in-process. */
export interface RunningNode {
  readonly holder: SnapshotHolder;
  readonly dns: { host: string; port: number };
  readonly admin: { host: string; port: number };
  /** The admin API's base URL (http:// or https://). */
  readonly adminUrl: string;
  /** The node's own write token file, when it made one (no token configured). */
  readonly localTokenFile: string | null;
  /** DNS Cookies, response rate limiting and TCP counts, as the metrics read them. */
  readonly guard: DnsGuard;
  readonly source: Source;
  readonly health: HealthService;
  /** Cluster mode's etcd wiring; null on a single node. */
  readonly cluster: Cluster | null;
  /** The admin app (for tests that look at its routes). */
  readonly app: FastifyInstance;
  /** The DNS worker processes, with `workers` > 1; null when DNS is answered in this process. */
  readonly workers: DnsWorkers | null;
  /** Re-reads what can change without a restart (SIGHUP); never stops serving. */
  reload(): Promise<ReloadReport>;
  stop(): Promise<void>;
}

/** What a reload did: the one log line SIGHUP writes. */
export interface ReloadReport {
  /** Zones added, changed and removed by the rescan, and files that failed (their last good version still serves); "etcd" in cluster mode, where zones are live already. */
  zones: { added: string[]; changed: string[]; removed: string[]; failed: string[] } | 'etcd';
  tokens: 'changed' | 'unchanged' | 'none' | 'failed';
  latency: 'changed' | 'unchanged' | 'none' | 'failed';
  /** The `--geoip-db` file: `none` when the embedded geoip-lite is in use. */
  geoip: 'changed' | 'unchanged' | 'none' | 'failed';
  /** The admin API's certificate and key (--admin-tls-cert, --admin-tls-key). */
  tls: 'changed' | 'unchanged' | 'none' | 'failed';
  /** Why a part was refused (the old state stays in force). */
  errors: string[];
}

/** What the DNS server defends itself with, for metrics and tests. */
export interface DnsGuard {
  readonly cookies: CookieJar;
  readonly rrl: ResponseRateLimiter | null;
  readonly tcp: TcpStats;
}

const fingerprint = (tokens: readonly Token[]): string =>
  tokens
    .map((t) => `${t.name}:${t.role}:${t.digest.toString('hex')}`)
    .sort()
    .join(',');

/** SO_RCVBUF asked for each UDP socket unless `udpRecvBufferBytes` says otherwise: room for a burst of queries while a GC pause or a slow turn holds the event loop. */
export const DEFAULT_UDP_RECV_BUFFER = 4 * 1024 * 1024;

/** Starts a node: zones, DNS and admin. On any failure, stops what it had started and throws. */
export async function startNode(opts: ServeOptions, log: Logger): Promise<RunningNode> {
  // A mutable array the admin API's auth hook reads on every request: a reload replaces its contents.
  const tokens: Token[] = [];
  try {
    tokens.push(...loadTokens(opts.tokensFile, process.env['MERIDIAN_TOKENS']));
  } catch (err) {
    throw createError('MRD_ERR_CONFIG', `admin tokens: ${(err as Error).message}`);
  }
  if (tokens.length === 0 && !isLoopback(opts.admin.host)) {
    throw createError(
      'MRD_ERR_CONFIG',
      `the admin API would listen on ${opts.admin.host} with no token configured; give --tokens FILE or MERIDIAN_TOKENS, or listen on loopback`,
    );
  }
  // Bearer tokens must not cross a network in clear text: beyond loopback, TLS or an explicit trust.
  if (!opts.adminTls && !isLoopback(opts.admin.host) && !opts.adminTrustedNetwork) {
    throw createError(
      'MRD_ERR_CONFIG',
      `the admin API would listen on ${opts.admin.host} over plain HTTP, so its tokens would cross the network in clear text; give --admin-tls-cert FILE and --admin-tls-key FILE, or --admin-trusted-network if the network is trusted (docs/operations.md, "TLS for the admin API")`,
    );
  }
  let adminTls: AdminTls | null = null;
  if (opts.adminTls) {
    try {
      adminTls = new AdminTls(opts.adminTls.certFile, opts.adminTls.keyFile, log.child({ component: 'admin' }));
    } catch (err) {
      throw createError('MRD_ERR_CONFIG', `admin TLS: ${(err as Error).message}`);
    }
  }
  if (opts.etcd && opts.latencyFile)
    throw createError(
      'MRD_ERR_CONFIG',
      '--latency is for a single node; in cluster mode the latency table lives in etcd (meridian cluster import --latency FILE)',
    );
  if (!opts.etcd) {
    let stat: fs.Stats | undefined;
    try {
      stat = fs.statSync(opts.zonesDir);
    } catch (err) {
      throw createError(
        'MRD_ERR_CONFIG',
        `--zones: ${opts.zonesDir} ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`}`,
      );
    }
    if (!stat.isDirectory()) throw createError('MRD_ERR_CONFIG', `--zones: ${opts.zonesDir} is not a directory`);
  }
  // No token configured: the node's own write token, so no write is ever anonymous.
  const configured = tokens.length;
  let local: LocalToken | null = null;
  if (configured === 0) {
    const file = localTokenPath({ file: opts.adminTokenFile, stateDir: opts.stateDir, zonesDir: opts.etcd ? undefined : opts.zonesDir });
    try {
      local = loadLocalToken(file);
    } catch (err) {
      throw createError('MRD_ERR_CONFIG', `the admin write token: ${(err as Error).message}; give --admin-token-file FILE, --state DIR or --tokens FILE`);
    }
    tokens.push(local.token);
    if (local.narrowed !== undefined) log.warn({ file, mode: local.narrowed.toString(8) }, 'admin write token file was readable by others; made it 0600');
    log.info({ file, created: local.created }, 'admin API writes need the token in this file (meridian ctl on this machine reads it)');
  }
  let hasConfiguredTokens = configured > 0;
  const holder = new SnapshotHolder();
  const metrics = new MetricsRegistry(holder);
  const cluster = opts.etcd
    ? new Cluster(
        { etcd: opts.etcd, region: opts.region, id: opts.nodeId, kind: 'node', leaseTtlSeconds: opts.leaseTtlSeconds ?? 5, checks: opts.runChecks ?? true },
        holder,
        log,
      )
    : null;
  // DNS Cookies: the cluster's secret (etcd), or this node's own (kept in --state across restarts).
  const fileSecrets = cluster ? null : new FileCookieSecrets(opts.stateDir, log.child({ component: 'cookies' }));
  const secrets = fileSecrets?.secrets ?? new CookieSecrets();
  if (cluster) cluster.attachCookies(secrets);
  let rrl: ResponseRateLimiter | null = null;
  const rrlOptions = opts.rrl ?? DEFAULT_RRL;
  try {
    if (rrlOptions.ratePerSecond > 0) rrl = new ResponseRateLimiter(rrlOptions);
  } catch (err) {
    throw createError('MRD_ERR_CONFIG', `response rate limiting: ${(err as Error).message}`);
  }
  const guard: DnsGuard = { cookies: new CookieJar(secrets), rrl, tcp: { open: 0, refusedGlobal: 0, refusedPerClient: 0 } };
  metrics.guard = guard;
  const source: Source = cluster ? cluster.source : new FileSource({ dir: opts.zonesDir, holder, log: log.child({ component: 'zones' }) });
  // DNSSEC keys: in etcd in a cluster, under --state on a single node, else nowhere (signing refused).
  const keyStore: KeyStore = cluster ? cluster.dnssecStore : opts.stateDir ? new FileKeyStore(opts.stateDir) : new NoKeyStore();
  const dnssec = new DnssecKeys({ holder, store: keyStore, log: log.child({ component: 'dnssec' }) });
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
  let geoip: GeoipFile | undefined;
  if (opts.geoipDb) {
    try {
      geoip = new GeoipFile(opts.geoipDb, holder.live, log.child({ component: 'geoip' }));
    } catch (err) {
      latency?.close();
      throw createError('MRD_ERR_GEOIP_DB', (err as Error).message);
    }
    // Zones that locate clients use the file: geoip-lite's 190 MB need not be read.
    setEmbeddedPreload(false);
  }
  let health: HealthService | null = null;
  let dns: DnsServer | DnsWorkers | null = null;
  let app: FastifyInstance | null = null;
  let notifier: Notifier | null = null;
  let rrlReport: NodeJS.Timeout | null = null;
  /** Stops whatever has started, in reverse order; each part on its own, so one failure stops nothing else. */
  const teardown = async (): Promise<void> => {
    const parts: (() => unknown)[] = [
      () => rrlReport && clearInterval(rrlReport),
      () => adminTls?.close(),
      () => fileSecrets?.stop(),
      () => app?.close(),
      () => dns?.stop(),
      () => health?.stop(),
      () => latency?.close(),
      () => geoip?.close(),
      () => notifier?.stop(),
      () => dnssec.stop(),
      () => (cluster ?? source).stop(),
    ];
    for (const part of parts) {
      try {
        await part();
      } catch (err) {
        log.warn({ err }, 'stop failed');
      }
    }
  };
  try {
    return await startParts();
  } catch (err) {
    await teardown();
    throw err;
  }

  async function startParts(): Promise<RunningNode> {
    const hs: HealthService = new HealthService({
      holder,
      region: opts.region,
      log,
      runChecks: opts.runChecks ?? true,
      // In a cluster the votes in etcd are the warm start; the state directory keeps drills and audit.
      stateDir: cluster ? undefined : opts.stateDir,
      ...(cluster ? { publish: cluster.publishFor((votes) => void hs.store?.record(votes)), active: false } : {}),
    });
    health = hs;
    if (hs.store) hs.store.observeVote = metrics.observeVote;
    const audit = new AuditLog(opts.stateDir);
    let started = false;
    if (cluster) {
      // In a cluster the health service listens for snapshot swaps before the first load, so the
      // vote store tracks the first snapshot's endpoints when the votes in etcd arrive.
      hs.start();
      cluster.attach(hs);
      cluster.attachAudit(audit);
      await cluster.start();
    } else {
      // On a single node the zones load first, so warm-start votes (--state) find their endpoints.
      await source.start();
      hs.start();
    }
    // Keys before the DNS socket: a signed zone is signed from the first answer.
    try {
      await dnssec.start();
    } catch (err) {
      throw createError('MRD_ERR_CONFIG', `DNSSEC keys: ${(err as Error).message}`);
    }
    started = true;
    const overrideFile = opts.stateDir && !cluster ? new OverrideFile(opts.stateDir, holder.health) : null;
    const restored = overrideFile?.load() ?? 0;
    if (restored > 0) log.info({ overrides: restored }, 'overrides restored');
    notifier = opts.notify && opts.notify.length > 0 ? new Notifier({ holder, targets: opts.notify, log: log.child({ component: 'notify' }) }) : null;
    notifier?.start();

    const plan = planDns({ udpIo: opts.udpIo ?? 'auto', workers: opts.workers ?? 1 }, log);
    const udpRecvBufferBytes = opts.udpRecvBufferBytes ?? DEFAULT_UDP_RECV_BUFFER;
    const pipeline = { maxUdpPayload: opts.maxUdpPayload, useCache: opts.useCache };
    let dnsAddr: DnsAddress;
    let workers: DnsWorkers | null = null;
    if (plan.workers > 1) {
      workers = new DnsWorkers({
        count: plan.workers,
        holder,
        log: log.child({ component: 'dns' }),
        port: opts.dns.port,
        config: {
          host: opts.dns.host,
          pipeline: { ...DEFAULT_PIPELINE_OPTIONS, ...pipeline },
          tcpIdleTimeoutMs: opts.tcpIdleTimeoutMs,
          tcpMaxConnections: opts.tcpMaxConnections,
          tcpMaxConnectionsPerClient: Math.min(opts.tcpMaxConnectionsPerClient ?? DEFAULT_TCP_PER_CLIENT, opts.tcpMaxConnections),
          udpIo: plan.udpIo,
          udpRecvBufferBytes,
          logLevel: opts.logLevel ?? log.level,
          // SO_REUSEPORT spreads one source's queries over the workers: each limits to its share,
          // so the node as a whole keeps the rate (docs/operations.md, "Response rate limiting").
          rrl: rrl ? { ...rrl.options, ratePerSecond: Math.max(1, Math.ceil(rrl.options.ratePerSecond / plan.workers)) } : null,
        },
        cookieSecret: () => secrets.state,
      });
      secrets.onChange = () => workers?.refresh();
      dns = workers;
      dnsAddr = await workers.start();
      const pool = workers;
      metrics.dns = async () => ({ udpIo: plan.udpIo, configured: pool.count, workers: await pool.report(), local: null });
    } else {
      const server = new DnsServer({
        host: opts.dns.host,
        port: opts.dns.port,
        holder,
        log: log.child({ component: 'dns' }),
        pipeline,
        tcpIdleTimeoutMs: opts.tcpIdleTimeoutMs,
        tcpMaxConnections: opts.tcpMaxConnections,
        tcpMaxConnectionsPerClient: Math.min(opts.tcpMaxConnectionsPerClient ?? DEFAULT_TCP_PER_CLIENT, opts.tcpMaxConnections),
        tcpStats: guard.tcp,
        cookies: guard.cookies,
        ...(guard.rrl ? { rrl: guard.rrl } : {}),
        observe: metrics.observeQuery,
        latency: metrics.observeLatency,
        udpIo: plan.udpIo,
        udpRecvBufferBytes,
        native: plan.native,
      });
      dns = server;
      dnsAddr = await server.start();
      metrics.dns = async () => ({ udpIo: plan.udpIo, configured: 0, workers: [], local: server.udpInfo() });
    }
    const udpInfo = workers ? null : (dns as DnsServer).udpInfo();
    fileSecrets?.start();
    if (rrl) rrlReport = reportRateLimiting(rrl, log.child({ component: 'dns' }));

    const startedAt = new Date().toISOString();
    let adminAddress: string | null = null;
    const admin: FastifyInstance = await buildAdminApp({
      holder,
      source,
      log: log.child({ component: 'admin' }),
      started: () => started,
      votes: hs.store,
      audit,
      tokens,
      openReads: () => !hasConfiguredTokens,
      localTokenFile: local?.file ?? null,
      tls: adminTls?.pair ?? null,
      protectProbes: opts.protectProbes ?? false,
      overrideFile,
      metrics,
      dns: dnsAddr,
      ...(workers ? { dnsWorkers: workers } : {}),
      stateDir: opts.stateDir,
      dnssec,
      self: () => ({
        id: opts.nodeId ?? os.hostname(),
        kind: 'node',
        region: opts.region,
        dns: formatHostPort(dnsAddr.host, dnsAddr.port),
        admin: adminAddress,
        version: MERIDIAN_VERSION,
        revision: holder.current.version,
        active_checker: hs.active,
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
    app = admin;
    try {
      await admin.listen({ host: opts.admin.host, port: opts.admin.port });
    } catch (err) {
      throw Object.assign(createError('MRD_ERR_LISTEN', `admin ${formatHostPort(opts.admin.host, opts.admin.port)}`, (err as Error).message), { cause: err });
    }
    const addr = admin.server.address();
    const adminPort = typeof addr === 'object' && addr ? addr.port : opts.admin.port;
    adminAddress = formatHostPort(opts.admin.host, adminPort);
    adminTls?.watch(admin.server as unknown as https.Server);
    const adminUrl = `${adminTls ? 'https' : 'http'}://${adminAddress}`;
    if (!adminTls && !isLoopback(opts.admin.host))
      log.warn({ admin: adminUrl }, 'the admin API listens beyond loopback over plain HTTP (--admin-trusted-network): tokens cross the network in clear text');
    cluster?.setAddresses(formatHostPort(dnsAddr.host, dnsAddr.port), adminAddress);

    const snap = holder.current;
    log.info(
      {
        region: opts.region,
        ...(cluster
          ? { cluster: { id: cluster.id, etcd: opts.etcd!.endpoints, prefix: cluster.layout.prefix, revision: cluster.source.revision() } }
          : { zonesDir: opts.zonesDir }),
        dns: formatHostPort(dnsAddr.host, dnsAddr.port),
        admin: formatHostPort(opts.admin.host, adminPort),
        dns_processes: workers ? { workers: workers.count, udp_io: plan.udpIo } : { workers: 0, udp_io: plan.udpIo },
        ...(udpInfo ? { udp_receive_buffer: udpInfo.recvBufferBytes } : {}),
        ...(adminTls ? { adminTls: true } : {}),
        rrl: rrl ? { rate: rrl.options.ratePerSecond, slip: rrl.options.slip, window: rrl.options.windowSeconds } : 'off',
        zones: [...snap.catalog.zones].map((z) => ({
          zone: keyToPresentation(z.origin),
          serial: z.serial,
          records: z.recordCount,
          policies: z.policies?.records.length ?? 0,
        })),
        checks: hs.checker?.states().length ?? 0,
        ...(opts.configFile ? { config: opts.configFile } : {}),
      },
      'meridian serving',
    );

    return {
      holder,
      source,
      cluster,
      dns: dnsAddr,
      admin: { host: opts.admin.host, port: adminPort },
      adminUrl,
      localTokenFile: local?.file ?? null,
      guard,
      health: hs,
      app: admin,
      workers,
      reload,
      stop: teardown,
    };
  }

  /** Rescans the zones, re-reads the tokens, the latency file and the geoip database; a part that fails keeps its old state. */
  async function reload(): Promise<ReloadReport> {
    const report: ReloadReport = { zones: 'etcd', tokens: 'none', latency: 'none', geoip: 'none', tls: 'none', errors: [] };
    if (source instanceof FileSource) {
      const before = new Map(source.zones().map((z) => [z.origin, z]));
      await source.rescan();
      const after = new Map(source.zones().map((z) => [z.origin, z]));
      const name = (origin: string): string => keyToPresentation(origin);
      report.zones = {
        added: [...after.keys()].filter((o) => !before.has(o)).map(name),
        changed: [...after.keys()].filter((o) => before.has(o) && before.get(o) !== after.get(o)).map(name),
        removed: [...before.keys()].filter((o) => !after.has(o)).map(name),
        failed: source.status().flatMap((st) => st.errors.map((e) => e.format())),
      };
      if (source.scanError) report.errors.push(`zones: ${source.scanError}`);
      report.errors.push(...report.zones.failed.map((f) => `zones: ${f}`));
    }
    if (opts.tokensFile || process.env['MERIDIAN_TOKENS']) {
      try {
        const next = loadTokens(opts.tokensFile, process.env['MERIDIAN_TOKENS']);
        if (next.length === 0 && !isLoopback(opts.admin.host)) throw new Error(`no token left, and the admin API listens on ${opts.admin.host}`);
        // The node's own write token stays valid (and is made now if the last configured token went).
        if (next.length === 0 && !local) {
          local = loadLocalToken(localTokenPath({ file: opts.adminTokenFile, stateDir: opts.stateDir, zonesDir: opts.etcd ? undefined : opts.zonesDir }));
          log.info({ file: local.file }, 'admin API writes need the token in this file (meridian ctl on this machine reads it)');
        }
        const all = local ? [...next, local.token] : next;
        report.tokens = fingerprint(all) === fingerprint(tokens) ? 'unchanged' : 'changed';
        tokens.splice(0, tokens.length, ...all);
        hasConfiguredTokens = next.length > 0;
      } catch (err) {
        report.tokens = 'failed';
        report.errors.push(`tokens: ${(err as Error).message}; the tokens in force stay`);
      }
    }
    if (adminTls) {
      const r = adminTls.reload();
      report.tls = r.result;
      if (r.error) report.errors.push(`admin TLS: ${r.error}; the certificate in force stays`);
    }
    if (latency) {
      try {
        report.latency = latency.reload();
      } catch (err) {
        report.latency = 'failed';
        report.errors.push(`latency: ${(err as Error).message}; the table in force stays`);
      }
    }
    if (geoip) {
      try {
        report.geoip = geoip.reload();
      } catch (err) {
        report.geoip = 'failed';
        report.errors.push(`geoip: ${(err as Error).message}; the database in force stays`);
      }
    }
    return report;
  }
}

/**
 * Logs, once a minute while it lasts, how many answers response rate limiting held back: one line
 * per minute of a flood, none when nothing was limited (no per-query logging, docs/operations.md).
 */
function reportRateLimiting(rrl: ResponseRateLimiter, log: Logger): NodeJS.Timeout {
  const total = (): { dropped: number; slipped: number } => {
    let dropped = 0;
    let slipped = 0;
    for (const c of Object.values(rrl.counts)) {
      dropped += c.dropped;
      slipped += c.slipped;
    }
    return { dropped, slipped };
  };
  let last = total();
  let limiting = false;
  const timer = setInterval(() => {
    const now = total();
    const dropped = now.dropped - last.dropped;
    const slipped = now.slipped - last.slipped;
    last = now;
    if (dropped + slipped > 0) {
      log.warn({ dropped, slipped, buckets: rrl.buckets }, 'response rate limiting held answers back in the last minute');
      limiting = true;
    } else if (limiting) {
      log.info('response rate limiting: nothing limited in the last minute');
      limiting = false;
    }
  }, 60_000);
  timer.unref();
  return timer;
}
