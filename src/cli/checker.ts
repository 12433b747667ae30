/**
 * @module cli/checker
 * `meridian checker`: runs the health checks from one region without serving DNS: an extra
 * vantage point (docs/health.md). Two ways:
 *   - `--node URL --zones DIR`: checks the zones of a directory and POSTs the votes to a node's
 *     admin API;
 *   - `--etcd URL`: cluster mode. Takes the zones from etcd, campaigns to be its region's active
 *     checker (cluster/election.ts), and while it is, writes votes to etcd under leases.
 *
 * Either way it runs until SIGTERM/SIGINT (exit 0) and never exits because etcd or the node is
 * unreachable: every loop retries with capped backoff, logs the change once, and resumes when the
 * dependency is back (cli/lifetime.ts holds the process open meanwhile). It exits non-zero only
 * for what it cannot run with: bad options or an unreadable file (2), etcd refusing its
 * credentials (MRD_ERR_ETCD_AUTH) or the node refusing its token (MRD_ERR_CHECKER_REFUSED) (1).
 *
 * Its options come from flags, MERIDIAN_<OPTION> variables and `--config FILE` (cli/options.ts).
 */
import path from 'node:path';
import { HealthService } from '../health/service.js';
import { RemoteVotePublisher } from '../health/remote.js';
import { createLogger, type Logger } from '../log.js';
import { FileSource } from '../state/file-source.js';
import { SnapshotHolder } from '../state/snapshot.js';
import { Cluster } from '../cluster/runtime.js';
import type { EtcdConnection } from '../cluster/etcd-client.js';
import { etcdConnectionFrom } from './etcd-options.js';
import { CONFIG_OPTION, renderCommandHelp, resolveOptions, usageError } from './options.js';
import { CHECKER_OPTIONS } from './serve-options.js';
import { nodeIdOf } from './args.js';
import { Lifetime } from './lifetime.js';
import { adminDispatcher, findLocalToken } from './admin-client.js';
import type { Dispatcher } from 'undici';

export const CHECKER_HELP = renderCommandHelp(
  `Usage: meridian checker --region ID --node URL [options]
       meridian checker --region ID --etcd URL[,URL…] [options]

Run health checks from one region. Serves no DNS.

With --node, check the zones in a directory and send the votes to a Meridian node's admin API
(POST /v1/health/votes), over https:// verified with --node-ca when the node serves TLS; without
--token, a node on the same machine is sent its own write token if this user can read it. With --etcd (cluster mode), take the zones from etcd, stand for the
region's active checker, and while elected write the votes to etcd under leases that expire
after the checks' stale_after.`,
  [CONFIG_OPTION, ...CHECKER_OPTIONS],
  `It never exits because etcd or the node is unreachable: it retries with backoff and resumes when
it is back. Exit status: 0 after SIGTERM/SIGINT; 2 for bad options or an unreadable file; 1 when
etcd refuses its credentials or the node refuses its token (retrying cannot fix those).

Every option can also come from the config file under its long name, or from the environment as
MERIDIAN_<OPTION> (MERIDIAN_REGION, MERIDIAN_TOKEN, ...). A flag beats the environment, which
beats the file, which beats the default (docs/operations.md, "Configuration").`,
);

export async function checkerCommand(argv: string[]): Promise<number> {
  const r = resolveOptions(CHECKER_OPTIONS, argv, process.env);
  if (r.help) {
    process.stdout.write(CHECKER_HELP);
    return 0;
  }
  const v = r.values as Record<string, string | undefined>;
  const region = v['region'];
  const node = v['node'];
  if (!region) throw usageError('--region is required');
  if (r.values['etcd'] !== undefined && node !== undefined) throw usageError('give --node (send votes to a node) or --etcd (cluster mode), not both');
  const log = createLogger(v['log-level']);
  const etcd = etcdConnectionFrom(r);
  if (!etcd) {
    if (!node) throw usageError('--node or --etcd is required');
    try {
      new URL(node);
    } catch {
      throw usageError(`--node must be a URL such as http://127.0.0.1:8053, not "${node}"`);
    }
  }
  const dispatcher = adminDispatcher(v['node-ca'], '--node-ca');
  // --lease-ttl is checked by its table entry (an integer from 1 to 600).
  const ttl = r.values['lease-ttl'] as number;
  const id = v['node-id'] === undefined ? undefined : nodeIdOf(v['node-id']);
  // From here on the process lives until a signal or a refusal, whatever is reachable.
  const life = new Lifetime(log);
  let stopAll: () => Promise<void>;
  try {
    stopAll = etcd
      ? await startClusterChecker(etcd, region, id, ttl, log, life)
      : await startNodeChecker(node!, path.resolve(v['zones']!), region, v['token'] ?? process.env['MERIDIAN_TOKEN'], dispatcher, log, life);
  } catch (err) {
    life.release();
    throw err;
  }
  const end = await life.ended;
  await stopAll();
  if ('fatal' in end) throw end.fatal;
  return 0;
}

/** Cluster mode: zones from etcd, the region's election, votes to etcd. Returns how to stop it. */
async function startClusterChecker(
  etcd: EtcdConnection,
  region: string,
  id: string | undefined,
  ttl: number,
  log: Logger,
  life: Lifetime,
): Promise<() => Promise<void>> {
  const holder = new SnapshotHolder();
  const cluster = new Cluster({ etcd, region, id, kind: 'checker', leaseTtlSeconds: ttl, checks: true }, holder, log);
  cluster.client.onCredentialsRefused((err) => life.fail(err));
  const health = new HealthService({ holder, region, log, judge: false, publish: cluster.publishFor(null), active: false });
  health.start();
  cluster.attach(health);
  await cluster.start();
  log.info({ region, id: cluster.id, etcd: cluster.client.endpoints, prefix: cluster.layout.prefix }, 'meridian checker running (cluster mode)');
  return async () => {
    await health.stop();
    await cluster.stop();
  };
}

/** `--node`: zones from a directory, votes POSTed to a node. Returns how to stop it. */
async function startNodeChecker(
  node: string,
  zonesDir: string,
  region: string,
  token: string | undefined,
  dispatcher: Dispatcher | undefined,
  log: Logger,
  life: Lifetime,
): Promise<() => Promise<void>> {
  const holder = new SnapshotHolder();
  const source = new FileSource({ dir: zonesDir, holder, log: log.child({ component: 'zones' }) });
  await source.start();
  const publisher = new RemoteVotePublisher(node, region, log.child({ component: 'votes' }), {
    token,
    dispatcher,
    // No token given: the write token the node made, when it runs on this machine.
    findToken: async () => (await findLocalToken(node, dispatcher)).token,
  });
  publisher.onRefused = (err) => life.fail(err);
  const health = new HealthService({ holder, region, log, judge: false, publish: publisher.publish });
  health.start();
  log.info({ region, node, endpoints: health.checker?.states().length ?? 0 }, 'meridian checker running');
  return async () => {
    await health.stop();
    await publisher.close();
    await source.stop();
  };
}
