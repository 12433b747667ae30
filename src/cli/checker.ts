/**
 * @module cli/checker
 * `meridian checker`: runs the health checks from one region without serving DNS: an extra
 * vantage point (docs/health.md). Two ways:
 *   - `--node URL --zones DIR`: checks the zones of a directory and POSTs the votes to a node's
 *     admin API;
 *   - `--etcd URL`: cluster mode. Takes the zones from etcd, campaigns to be its region's active
 *     checker (cluster/election.ts), and while it is, writes votes to etcd under leases.
 * Its options come from flags, MERIDIAN_<OPTION> variables and `--config FILE` (cli/options.ts).
 */
import path from 'node:path';
import { createError } from '../errors.js';
import { HealthService } from '../health/service.js';
import { RemoteVotePublisher } from '../health/remote.js';
import { createLogger } from '../log.js';
import { FileSource } from '../state/file-source.js';
import { SnapshotHolder } from '../state/snapshot.js';
import { Cluster } from '../cluster/runtime.js';
import { etcdConnectionOf } from '../cluster/etcd-client.js';
import { CONFIG_OPTION, renderOptionsHelp, resolveOptions } from './options.js';
import { CHECKER_OPTIONS } from './serve-options.js';
import { nodeIdOf, positiveInt } from './args.js';

export const CHECKER_HELP = `Usage: meridian checker --region ID --node URL [options]
       meridian checker --region ID --etcd URL[,URL…] [options]

Run health checks from one region. Serves no DNS.

With --node, check the zones in a directory and send the votes to a Meridian node's admin API
(POST /v1/health/votes). With --etcd (cluster mode), take the zones from etcd, stand for the
region's active checker, and while elected write the votes to etcd under leases that expire
after the checks' stale_after.

Options:
${renderOptionsHelp([CONFIG_OPTION, ...CHECKER_OPTIONS])}
  -h, --help             show this help

Every option can also come from the config file under its long name, or from the environment as
MERIDIAN_<OPTION> (MERIDIAN_REGION, MERIDIAN_TOKEN, ...). A flag beats the environment, which
beats the file, which beats the default (docs/operations.md, "Configuration").
`;

export async function checkerCommand(argv: string[]): Promise<number> {
  const r = resolveOptions(CHECKER_OPTIONS, argv, process.env);
  if (r.help) {
    process.stdout.write(CHECKER_HELP);
    return 0;
  }
  const v = r.values as Record<string, string | undefined>;
  const values = {
    region: v['region'],
    node: v['node'],
    zones: v['zones']!,
    token: v['token'],
    'node-id': v['node-id'],
    'lease-ttl': String(r.values['lease-ttl']),
    etcd: r.values['etcd'] === undefined ? undefined : (r.values['etcd'] as string[]).join(','),
    'etcd-prefix': v['etcd-prefix']!,
    'etcd-ca': v['etcd-ca'],
    'etcd-cert': v['etcd-cert'],
    'etcd-key': v['etcd-key'],
    'etcd-user': v['etcd-user'],
  };
  if (!values.region) throw createError('MRD_ERR_CLI_USAGE', '--region is required');
  if (values.etcd !== undefined && values.node !== undefined) throw createError('MRD_ERR_CLI_USAGE', 'give --node (send votes to a node) or --etcd (cluster mode), not both');
  const log = createLogger(v['log-level']);
  let stopAll: () => Promise<void>;
  const etcd = etcdConnectionOf(values);
  if (etcd) {
    const ttl = positiveInt(values['lease-ttl'], '--lease-ttl', 1, 600);
    const holder = new SnapshotHolder();
    const cluster = new Cluster(
      { etcd, region: values.region, id: values['node-id'] === undefined ? undefined : nodeIdOf(values['node-id']), kind: 'checker', leaseTtlSeconds: ttl, checks: true },
      holder,
      log,
    );
    const health = new HealthService({ holder, region: values.region, log, judge: false, publish: cluster.publishFor(null), active: false });
    health.start();
    cluster.attach(health);
    await cluster.start();
    log.info({ region: values.region, id: cluster.id, etcd: cluster.client.endpoints, prefix: cluster.layout.prefix }, 'meridian checker running (cluster mode)');
    stopAll = async () => {
      await health.stop();
      await cluster.stop();
    };
  } else {
    if (!values.node) throw createError('MRD_ERR_CLI_USAGE', '--node or --etcd is required');
    try {
      new URL(values.node);
    } catch {
      throw createError('MRD_ERR_CLI_USAGE', `--node must be a URL such as http://127.0.0.1:8053, not "${values.node}"`);
    }
    const holder = new SnapshotHolder();
    const source = new FileSource({ dir: path.resolve(values.zones), holder, log: log.child({ component: 'zones' }) });
    await source.start();
    const publisher = new RemoteVotePublisher(values.node, values.region, log.child({ component: 'votes' }), values.token);
    const health = new HealthService({ holder, region: values.region, log, judge: false, publish: publisher.publish });
    health.start();
    log.info({ region: values.region, node: values.node, endpoints: health.checker?.states().length ?? 0 }, 'meridian checker running');
    stopAll = async () => {
      await health.stop();
      await publisher.close();
      await source.stop();
    };
  }

  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      log.info({ signal }, 'stopping');
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await stopAll();
  return 0;
}
