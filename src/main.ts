#!/usr/bin/env node
/**
 * @module main
 * The `meridian` command: dispatches to a subcommand and turns its result into an exit code.
 */
import { checkCommand } from './cli/check.js';
import { serveCommand } from './cli/serve.js';
import { checkerCommand } from './cli/checker.js';
import { ctlCommand } from './cli/ctl.js';
import { clusterCommand } from './cli/cluster.js';
import { MeridianError } from './errors.js';

const HELP = `Usage: meridian <command> [options]

Meridian is an authoritative DNS server whose answers follow routing policies and health checks.

Commands:
  serve     serve the zones directory over DNS, with the admin API
  check     validate zone files and report every problem as file:line: message
  checker   run health checks from one region (votes to a node, or to etcd in a cluster)
  cluster   import a zones directory into etcd, export it back, list the cluster's nodes
  ctl       operate a node through its admin API (zones, regions, drain, simulate)
  drill     preview, run, watch or abort a failover drill (same as "meridian ctl drill")

Run "meridian <command> --help" for a command's options.
`;

const commands: Record<string, (argv: string[]) => Promise<number>> = {
  serve: serveCommand,
  check: checkCommand,
  checker: checkerCommand,
  ctl: (argv) => ctlCommand(argv),
  drill: (argv) => ctlCommand(['drill', ...argv]),
  cluster: (argv) => clusterCommand(argv),
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(HELP);
    return name === undefined ? 2 : 0;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`meridian: unknown command "${name}"\n\n${HELP}`);
    return 2;
  }
  try {
    return await command(rest);
  } catch (err) {
    if (err instanceof MeridianError) {
      process.stderr.write(`meridian ${name}: ${err.message} (${err.code})\n`);
      return err.code === 'MRD_ERR_CLI_USAGE' ? 2 : 1;
    }
    throw err;
  }
}

let settled = false;
// Node exits with status 0 when the event loop empties, even with the command's promise still
// pending: a long-running command whose work stopped would look like a clean exit to a supervisor
// (issue 12). Long-running commands hold the loop themselves (cli/lifetime.ts); if one ever does
// not, this makes it a failure that says so.
process.on('beforeExit', () => {
  if (settled) return;
  settled = true;
  process.stderr.write(`meridian ${process.argv[2] ?? ''}: stopped before the command finished (nothing left running); this is a bug\n`);
  process.exitCode = 1;
});

main(process.argv.slice(2)).then(
  (code) => {
    settled = true;
    process.exitCode = code;
  },
  (err) => {
    settled = true;
    process.stderr.write(`meridian: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
