/**
 * @module admin/local-token
 * The node's own write token, for a node with no token configured: the admin API never takes an
 * anonymous write, and `meridian ctl` on the same machine still works without setup. On first
 * start the node makes a random token, keeps it in a file of mode 0600 (its state directory, or
 * beside its zones: docs/operations.md, "The admin API's write token") and logs where it is —
 * never the token. Later starts reuse the file. Whoever can read the file can write through the
 * API, as whoever can open knotc's socket can change Knot; `meridian ctl` finds the file through
 * `GET /v1/auth/local` (cli/admin-client.ts).
 *
 * Called by node/node.ts; admin/auth.ts checks the token like any configured write token.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tokenOf, type Token } from './auth.js';

/** The audit log's name for writes made with the node's own token. */
export const LOCAL_TOKEN_NAME = 'local';

/** What a local token looks like: `mrd_` and 32 random octets in base64url (so a reader can check a file before sending it). */
export const LOCAL_TOKEN_PATTERN = /^mrd_[A-Za-z0-9_-]{43}$/;

/**
 * Where the node keeps its own token: `file` when given (`--admin-token-file`); else
 * `admin-token` in the state directory; else `.admin-token` in the zones directory (a single node
 * writes there anyway); else (a cluster node with neither) in `$XDG_STATE_HOME/meridian`, by
 * default `~/.local/state/meridian`.
 */
export function localTokenPath(opts: { file?: string | undefined; stateDir?: string | undefined; zonesDir?: string | undefined }): string {
  if (opts.file) return path.resolve(opts.file);
  if (opts.stateDir) return path.join(opts.stateDir, 'admin-token');
  if (opts.zonesDir) return path.join(opts.zonesDir, '.admin-token');
  const base = process.env['XDG_STATE_HOME'] || path.join(os.homedir(), '.local', 'state');
  return path.join(base, 'meridian', 'admin-token');
}

/** What {@link loadLocalToken} did. */
export interface LocalToken {
  readonly token: Token;
  readonly file: string;
  /** True when the file was made now (first start). */
  readonly created: boolean;
  /** Set when the file had a mode wider than 0600 and was narrowed. */
  readonly narrowed?: number;
}

/**
 * Reads the token in `file`, or makes one there (mode 0600, the directory made 0700 when missing).
 * Two nodes starting at once agree on one token: the file is created exclusively and the loser
 * reads it. Throws with a reason when the file cannot be made or read, or holds something else.
 */
export function loadLocalToken(file: string): LocalToken {
  let created = false;
  let secret: string;
  try {
    secret = `mrd_${randomBytes(32).toString('base64url')}`;
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const fd = fs.openSync(file, 'wx', 0o600);
    try {
      fs.fchmodSync(fd, 0o600);
      fs.writeSync(fd, `${secret}\n`);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    created = true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`cannot create ${file}: ${(err as Error).message}`);
    secret = '';
  }
  let narrowed: number | undefined;
  if (!created) {
    const st = fs.statSync(file);
    if (!st.isFile()) throw new Error(`${file} is not a regular file`);
    if ((st.mode & 0o077) !== 0) {
      fs.chmodSync(file, 0o600);
      narrowed = st.mode & 0o777;
    }
    secret = fs.readFileSync(file, 'utf8').trim();
    if (!LOCAL_TOKEN_PATTERN.test(secret)) throw new Error(`${file} does not hold a Meridian write token (delete it and a new one is made)`);
  }
  return { token: tokenOf(LOCAL_TOKEN_NAME, 'write', secret), file, created, ...(narrowed !== undefined ? { narrowed } : {}) };
}
