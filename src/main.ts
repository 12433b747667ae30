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
import { MERIDIAN_VERSION } from './cluster/runtime.js';

const HELP = `Usage: meridian <command> [options]

Meridian is an authoritative DNS server whose answers follow routing policies and health checks.

Commands:
  serve     serve the zones directory over DNS, with the admin API
  check     validate zone files and report every problem as file:line: message
  checker   run health checks from one region (votes to a node, or to etcd in a cluster)
  cluster   import a zones directory into etcd, export it back, list the cluster's nodes
  ctl       operate a node through its admin API (zones, regions, drain, simulate)
  drill     preview, run, watch or abort a failover drill (same as "meridian ctl drill")
  version   print the version (--json: with Node's version and the platform)

Options: -V, --version prints the version; -h, --help this help.
Run "meridian <command> --help" for a command's options.
`;

/** `meridian version [--json]`. */
async function versionCommand(argv: string[]): Promise<number> {
  if (argv.length === 0) {
    process.stdout.write(`${MERIDIAN_VERSION}\n`);
    return 0;
  }
  if (argv.length === 1 && argv[0] === '--json') {
    process.stdout.write(`${JSON.stringify({ version: MERIDIAN_VERSION, node: process.versions.node, platform: process.platform, arch: process.arch })}\n`);
    return 0;
  }
  if (argv[0] === '--help' || argv[0] === '-h') {
    process.stdout.write("Usage: meridian version [--json]\n\nPrint the version; --json adds Node's version, the platform and the architecture.\n");
    return 0;
  }
  process.stderr.write(`meridian version: unknown argument "${argv[0]}" (only --json)\n`);
  return 2;
}

const commands: Record<string, (argv: string[]) => Promise<number>> = {
  serve: serveCommand,
  check: checkCommand,
  checker: checkerCommand,
  ctl: (argv) => ctlCommand(argv),
  drill: (argv) => ctlCommand(['drill', ...argv]),
  cluster: (argv) => clusterCommand(argv),
  version: versionCommand,
};

/** Exit statuses: 2 for a usage error (a bad flag, variable or config file), 1 for anything else. */
const USAGE_CODES = new Set(['MRD_ERR_CLI_USAGE', 'MRD_ERR_CONFIG_FILE']);

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(HELP);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V') return versionCommand(rest);
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
      return USAGE_CODES.has(err.code) ? 2 : 1;
    }
    throw err;
  }
}

// A reader that goes away (`meridian ctl ... | head -1`) closes our stdout: end quietly, as Unix
// tools do on SIGPIPE (Node ignores SIGPIPE, so the write fails with EPIPE instead). The exit
// status is 0: the reader had what it wanted.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
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

/**
 * Once the command has finished, nothing should keep the process alive; if something does (a
 * timer or watcher a failed start left), exit anyway after a moment rather than hang.
 */
function finish(code: number): void {
  settled = true;
  process.exitCode = code;
  setTimeout(() => process.exit(code), 2_000).unref();
}

main(process.argv.slice(2)).then(finish, (err) => {
  process.stderr.write(`meridian: ${(err as Error).stack ?? String(err)}\n`);
  finish(1);
});
