/**
 * @module cli/checker
 * `meridian checker`: runs the health checks of a zones directory from one region and sends the
 * votes to a node's admin API, without serving DNS: an extra vantage point (docs/health.md).
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createError } from '../errors.js';
import { HealthService } from '../health/service.js';
import { RemoteVotePublisher } from '../health/remote.js';
import { createLogger } from '../log.js';
import { FileSource } from '../state/file-source.js';
import { SnapshotHolder } from '../state/snapshot.js';

export const CHECKER_HELP = `Usage: meridian checker --region ID --node URL [options]

Run the health checks of the zones in a directory from one region, and send the votes to a
Meridian node's admin API (POST /v1/health/votes). Serves no DNS.

Options:
  --region ID     the region this checker votes for (required)
  --node URL      admin API of the node that judges health, e.g. http://127.0.0.1:8053 (required)
  --zones DIR     zone files whose checks to run; default ./zones
  --token TOKEN   bearer token for the node's admin API (or MERIDIAN_TOKEN)
  -h, --help      show this help

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
  if (!values.node) throw createError('MRD_ERR_CLI_USAGE', '--node is required');
  try {
    new URL(values.node);
  } catch {
    throw createError('MRD_ERR_CLI_USAGE', `--node must be a URL such as http://127.0.0.1:8053, not "${values.node}"`);
  }

  const log = createLogger();
  const holder = new SnapshotHolder();
  const source = new FileSource({ dir: path.resolve(values.zones), holder, log: log.child({ component: 'zones' }) });
  await source.start();
  const publisher = new RemoteVotePublisher(values.node, values.region, log.child({ component: 'votes' }), values.token ?? process.env['MERIDIAN_TOKEN']);
  const health = new HealthService({ holder, region: values.region, log, judge: false, publish: publisher.publish });
  health.start();
  log.info({ region: values.region, node: values.node, endpoints: health.checker?.states().length ?? 0 }, 'meridian checker running');

  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      log.info({ signal }, 'stopping');
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await health.stop();
  await publisher.close();
  await source.stop();
  return 0;
}
