/**
 * @module cli/args
 * Small argument checks the subcommands share beyond their option tables (cli/options.ts): the
 * node id. HOST:PORT is in src/address.ts, which the DNS layer and the admin API use too.
 */
import { usageError } from './options.js';

/** A node id (`--node-id`): what may be part of an etcd key and a URL path. */
export function nodeIdOf(text: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(text)) throw usageError(`--node-id must be letters, digits, ".", "_" or "-" (at most 63), not "${text}"`);
  return text;
}
