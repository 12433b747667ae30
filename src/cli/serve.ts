/**
 * @module cli/serve
 * `meridian serve`: the command around a node (node/node.ts `startNode`, which loads the zones
 * and serves DNS over UDP and TCP and the admin API). This module owns only what is the CLI's: the
 * options (flags, environment, config file: cli/serve-options.ts, cli/options.ts), the signals
 * (SIGHUP reloads, coalesced; SIGTERM/SIGINT stop gracefully through cli/lifetime.ts: stop
 * accepting, finish in-flight work) and the exit code.
 */
import os from 'node:os';
import { createLogger } from '../log.js';
import { nodeIdOf } from './args.js';
import { etcdConnectionFrom } from './etcd-options.js';
import { CONFIG_OPTION, renderCommandHelp, resolveOptions, usageError, withSource, type OptionSpec, type ResolvedOptions } from './options.js';
import { parseCidr } from '../policy/prefix-table.js';
import { SERVE_OPTIONS } from './serve-options.js';
import { Lifetime } from './lifetime.js';
import { parseNotifyTargets } from '../dns/notify.js';
import { startNode, type RunningNode, type ServeOptions } from '../node/node.js';

export const SERVE_HELP = renderCommandHelp(
  `Usage: meridian serve [options]

Serve the zones in a directory (or, with --etcd, a cluster's zones) over DNS (UDP and TCP on one
port) with an admin API. SIGHUP reloads zones, tokens, the latency table, the geoip database, the
admin TLS certificate and the config file's log level; SIGTERM and SIGINT stop gracefully
(docs/operations.md, "Signals").`,
  [CONFIG_OPTION, ...SERVE_OPTIONS],
  `Every option can also come from the config file, under its long name (tcp-max-connections: 1000,
no-checks: true), or from the environment as MERIDIAN_<OPTION> (MERIDIAN_TCP_MAX_CONNECTIONS=1000);
--tokens is MERIDIAN_TOKENS_FILE. A flag beats the environment, which beats the file, which beats
the default. See meridian.example.yaml and docs/operations.md, "Configuration".`,
);

const spec = (name: string): OptionSpec => SERVE_OPTIONS.find((s) => s.name === name)!;

/** `--workers`: a count from 1 to 256, or `auto` (the cores this process may use). */
export function workerCount(text: string): number {
  if (text === 'auto') return Math.max(1, os.availableParallelism());
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 256) throw usageError(`--workers must be a number from 1 to 256 or auto, not "${text}"`);
  return Number(text);
}

/** ServeOptions from resolved option values; throws MRD_ERR_CLI_USAGE on bad ones. */
export function serveOptionsOf(r: ResolvedOptions): ServeOptions {
  const v = r.values as Record<string, never>;
  const str = (name: string): string | undefined => v[name];
  const list = (name: string): string | undefined => (v[name] === undefined ? undefined : (v[name] as string[]).join(','));
  return {
    zonesDir: v['zones'],
    dns: v['dns'],
    admin: v['admin'],
    region: v['region'],
    maxUdpPayload: v['max-udp-payload'],
    tcpIdleTimeoutMs: v['tcp-idle-timeout'],
    tcpMaxConnections: v['tcp-max-connections'],
    tcpMaxConnectionsPerClient: v['tcp-max-connections-per-client'],
    useCache: !v['no-cache'],
    workers: withSource(r, spec('workers'), () => workerCount(v['workers'])),
    udpIo: v['udp-io'],
    udpRecvBufferBytes: v['udp-recv-buffer'],
    rrl: {
      ratePerSecond: v['rrl-rate'],
      slip: v['rrl-slip'],
      windowSeconds: v['rrl-window'],
      ipv4Prefix: v['rrl-ipv4-prefix'],
      ipv6Prefix: v['rrl-ipv6-prefix'],
      exempt: withSource(r, spec('rrl-exempt'), () => exemptList(v['rrl-exempt'])),
    },
    adminTls: adminTlsOf(r),
    adminTrustedNetwork: v['admin-trusted-network'],
    adminTokenFile: str('admin-token-file'),
    stateDir: str('state'),
    latencyFile: str('latency'),
    geoipDb: str('geoip-db'),
    runChecks: !v['no-checks'],
    tokensFile: str('tokens'),
    protectProbes: v['protect-probes'],
    notify: list('notify') === undefined ? [] : withSource(r, spec('notify'), () => parseNotifyTargets(list('notify')!)),
    etcd: etcdConnectionFrom(r),
    nodeId: str('node-id') === undefined ? undefined : withSource(r, spec('node-id'), () => nodeIdOf(str('node-id')!)),
    leaseTtlSeconds: v['lease-ttl'],
    logLevel: v['log-level'],
    configFile: r.configFile,
  };
}

/** `--rrl-exempt`: CIDR networks, checked now, or `none`. */
function exemptList(items: readonly string[]): string[] {
  if (items.length === 1 && items[0]!.toLowerCase() === 'none') return [];
  for (const item of items) {
    try {
      parseCidr(item);
    } catch (err) {
      throw usageError(`--rrl-exempt: ${(err as Error).message}`);
    }
  }
  return [...items];
}

/** `--admin-tls-cert` and `--admin-tls-key`: both or neither. */
function adminTlsOf(r: ResolvedOptions): ServeOptions['adminTls'] {
  const cert = r.values['admin-tls-cert'] as string | undefined;
  const key = r.values['admin-tls-key'] as string | undefined;
  if (cert === undefined && key === undefined) return undefined;
  if (cert === undefined || key === undefined) throw usageError('give --admin-tls-cert and --admin-tls-key together');
  return { certFile: cert, keyFile: key };
}

/**
 * Parses `serve` arguments, with the environment and the config file (cli/options.ts for the
 * precedence); throws MRD_ERR_CLI_USAGE or MRD_ERR_CONFIG_FILE on bad ones. Returns null for --help.
 */
export function parseServeArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): ServeOptions | null {
  const r = resolveOptions(SERVE_OPTIONS, argv, env);
  if (r.help) return null;
  return serveOptionsOf(r);
}

/**
 * Options a SIGHUP applies from a changed config file (or environment): the log level. Every
 * other option is bound at start (sockets, directories, etcd); a change to one is reported as
 * needing a restart and is not applied.
 */
const LIVE_OPTIONS = new Set(['log-level']);

/** Names of the options whose resolved values differ. */
function changedOptions(a: ResolvedOptions, b: ResolvedOptions): string[] {
  return SERVE_OPTIONS.filter((s) => JSON.stringify(a.values[s.name]) !== JSON.stringify(b.values[s.name])).map((s) => s.name);
}

/** The `serve` command: runs until SIGTERM or SIGINT; SIGHUP reloads (docs/operations.md, "Signals"). */
export async function serveCommand(argv: string[]): Promise<number> {
  let resolved = resolveOptions(SERVE_OPTIONS, argv, process.env);
  if (resolved.help) {
    process.stdout.write(SERVE_HELP);
    return 0;
  }
  const opts = serveOptionsOf(resolved);
  const log = createLogger(opts.logLevel);
  // Until the node is up, a SIGHUP must not kill the process (its default action): ignore it.
  const early = (): void => log.warn('SIGHUP before the node started; ignored');
  process.on('SIGHUP', early);
  let node: RunningNode;
  try {
    node = await startNode(opts, log);
  } finally {
    process.off('SIGHUP', early);
  }

  let reloading: Promise<void> | null = null;
  let again = false;
  let stopping = false;
  const reloadOnce = async (): Promise<void> => {
    const report: Record<string, unknown> = { ...(await node.reload()) };
    let level: string | undefined;
    const errors = report['errors'] as string[];
    if (resolved.configFile) {
      try {
        const next = resolveOptions(SERVE_OPTIONS, argv, process.env);
        serveOptionsOf(next);
        const changed = changedOptions(resolved, next);
        const restart = changed.filter((n) => !LIVE_OPTIONS.has(n));
        if (changed.includes('log-level')) level = next.values['log-level'] as string;
        report['config'] = changed.length === 0 ? 'unchanged' : 'changed';
        if (restart.length > 0) report['restart'] = restart;
        // What a restart would apply stays visible as a difference on the next reload too.
        resolved = { ...next, values: { ...resolved.values, ...Object.fromEntries([...LIVE_OPTIONS].map((n) => [n, next.values[n]])) } };
      } catch (err) {
        report['config'] = 'failed';
        errors.push(`config: ${(err as Error).message}; the options in force stay`);
      }
    }
    if (errors.length === 0) delete report['errors'];
    if (errors.length > 0) log.warn(report, 'reloaded');
    else log.info(report, 'reloaded');
    // After the line, so a reload that quietens the log still says what it did.
    if (level !== undefined) log.level = level;
  };
  const onHup = (): void => {
    // Stays installed while stopping: a late SIGHUP must not kill the process (its default action).
    if (stopping) return;
    // A SIGHUP during a reload is coalesced into one more reload after it (which sees its changes).
    if (reloading) {
      again = true;
      return;
    }
    reloading = reloadOnce()
      .catch((err) => log.error({ err }, 'reload failed; serving on with the old state'))
      .finally(() => {
        reloading = null;
        if (again) {
          again = false;
          onHup();
        }
      });
  };
  process.on('SIGHUP', onHup);

  // Lives until SIGTERM/SIGINT, whatever etcd does (cli/lifetime.ts).
  await new Lifetime(log).ended;
  stopping = true;
  try {
    await reloading;
    await node.stop();
    log.info('stopped');
    return 0;
  } catch (err) {
    log.error({ err }, 'stop failed');
    return 1;
  }
}
