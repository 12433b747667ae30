/**
 * @module cli/check
 * `meridian check`: validates every zone file in a directory and prints `file:line: message`
 * for each problem; exits 1 when there is any, 0 otherwise. Uses the same loader as `serve`.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { checkZoneDir } from '../state/file-source.js';
import { createError } from '../errors.js';
import { keyToPresentation } from '../dns/name.js';

export const CHECK_HELP = `Usage: meridian check [--zones DIR]

Validate every zone file (*.zone, *.yaml) in DIR (default ./zones) without serving it.
Prints "file:line: message" for each problem and exits 1 if there is any.

Options:
  --zones DIR   the zones directory; default ./zones
  -q, --quiet   print problems only
  -h, --help    show this help
`;

export async function checkCommand(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        zones: { type: 'string', default: './zones' },
        quiet: { type: 'boolean', short: 'q', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }));
  } catch (err) {
    throw createError('MRD_ERR_CLI_USAGE', (err as Error).message);
  }
  if (values.help) {
    process.stdout.write(CHECK_HELP);
    return 0;
  }
  const dir = path.resolve(values.zones);
  let result;
  try {
    result = await checkZoneDir(dir);
  } catch (err) {
    process.stderr.write(`${dir}: ${(err as Error).message}\n`);
    return 1;
  }
  for (const e of result.errors) process.stderr.write(`${e.format()}\n`);
  if (!values.quiet) {
    for (const z of result.zones) process.stdout.write(`ok ${keyToPresentation(z.origin)} serial ${z.serial}, ${z.recordCount} records (${z.file})\n`);
  }
  return result.errors.length > 0 ? 1 : 0;
}
