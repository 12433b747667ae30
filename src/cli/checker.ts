/**
 * @module cli/checker
 * `meridian checker`: runs the health checks from one region without serving DNS: an extra
 * vantage point (docs/health.md). Two ways:
 *   - `--node URL --zones DIR`: checks the zones of a directory and POSTs the votes to a node's
 *     admin API;
 *   - `--etcd URL`: cluster mode. Takes the zones from etcd, campaigns to be its region's active
 *     checker (cluster/election.ts), and while it is, writes votes to etcd under leases.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createError } from '../errors.js';
import { HealthService } from '../health/service.js';
import { RemoteVotePublisher } from '../health/remote.js';
import { createLogger } from '../log.js';
import { FileSource } from '../state/file-source.js';
import { SnapshotHolder } from '../state/snapshot.js';
import { Cluster } from '../cluster/runtime.js';
import { ETCD_ARGS, ETCD_HELP, etcdConnectionOf } from '../cluster/etcd-client.js';
import { nodeIdOf, positiveInt } from './args.js';

export const CHECKER_HELP = `Usage: meridian checker --region ID --node URL [options]
       meridian checker --region ID --etcd URL[,URL…] [options]

Run health checks from one region. Serves no DNS.

With --node, check the zones in a directory and send the votes to a Meridian node's admin API
(POST /v1/health/votes). With --etcd (cluster mode), take the zones from etcd, stand for the
region's active checker, and while elected write the votes to etcd under leases that expire
after the checks' stale_after.

Options:
  --region ID            the region this checker votes for (required)
  --node URL             admin API of the node that judges health, e.g. http://127.0.0.1:8053
  --zones DIR            zone files whose checks to run (with --node); default ./zones
  --token TOKEN          bearer token for the node's admin API (or MERIDIAN_TOKEN)
${ETCD_HELP}
  --node-id ID           this checker's id in the cluster; default <hostname>-<pid>
  --lease-ttl SECONDS    election and membership lease TTL; default 5
  -h, --help             show this help

Environment: MERIDIAN_LOG_LEVEL (trace|debug|info|warn|error; default info)
`;

export async function checkerCommand(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        region: { type: 'string' },
        node: { type: 'string' },
        zones: { type: 'string', default: './zones' },
        token: { type: 'string' },
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
  if (values.help) {
    process.stdout.write(CHECKER_HELP);
    return 0;
  }
  if (!values.region) throw createError('MRD_ERR_CLI_USAGE', '--region is required');
  if (values.etcd !== undefined && values.node !== undefined) throw createError('MRD_ERR_CLI_USAGE', 'give --node (send votes to a node) or --etcd (cluster mode), not both');
  const log = createLogger();
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
    const publisher = new RemoteVotePublisher(values.node, values.region, log.child({ component: 'votes' }), values.token ?? process.env['MERIDIAN_TOKEN']);
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
