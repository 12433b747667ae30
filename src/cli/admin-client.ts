/**
 * @module cli/admin-client
 * How `meridian ctl` and `meridian checker --node` reach a node's admin API: over HTTP, or over
 * HTTPS verified against the system's CAs or a CA file (`--api-ca`, `--node-ca`), and with which
 * token: the one given (`--token`, `MERIDIAN_TOKEN`), else — when the API is on this machine — the
 * write token the node made for itself (admin/local-token.ts).
 *
 * Finding that token: `GET /v1/auth/local` names the file, and the file's permissions decide who
 * may use it, as a socket's do for knotc. A server can name any path, so a file is read only if
 * it looks like what a node makes (a regular file of mode 0600, a `mrd_` token and nothing else),
 * and, where /proc/net/tcp tells (Linux), only if it belongs to the user whose socket listens on
 * the API's port — so a program that took the port while the node was away cannot make ctl read
 * and send it another user's token.
 */
import fs from 'node:fs';
import { Agent, fetch, type Dispatcher } from 'undici';
import { isLoopback } from '../address.js';
import { LOCAL_TOKEN_PATTERN } from '../admin/local-token.js';
import { usageError } from './options.js';

/** A dispatcher that verifies the server against `caFile` (PEM) instead of the system's CAs; undefined without one. */
export function adminDispatcher(caFile: string | undefined, flag: string): Dispatcher | undefined {
  if (!caFile) return undefined;
  let ca: Buffer;
  try {
    ca = fs.readFileSync(caFile);
  } catch (err) {
    throw usageError(`${flag} ${caFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return new Agent({ connect: { ca } });
}

/** What looking for the node's own token found. */
export interface LocalTokenLookup {
  readonly token?: string;
  /** Why there is none, when the node has one but it cannot be used (for the 401 message). */
  readonly why?: string;
}

/** The host of a URL without IPv6 brackets. */
function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '');
}

/**
 * The node's own write token, when the API at `api` runs on this machine and this user may read
 * its file. Never throws: an API that is down, a node with configured tokens (404) or a file this
 * user cannot read just mean no token.
 */
export async function findLocalToken(api: string, dispatcher?: Dispatcher): Promise<LocalTokenLookup> {
  const url = new URL('/v1/auth/local', api);
  if (!isLoopback(hostOf(url))) return {};
  let file: string;
  try {
    const res = await fetch(url, { ...(dispatcher ? { dispatcher } : {}), signal: AbortSignal.timeout(5000) });
    if (res.status !== 200) {
      await res.body?.cancel();
      return {};
    }
    const body = (await res.json()) as { token_file?: unknown };
    if (typeof body.token_file !== 'string') return {};
    file = body.token_file;
  } catch {
    return {};
  }
  return readLocalToken(file, Number(url.port || (url.protocol === 'https:' ? 443 : 80)));
}

/** Reads a token file named by the API on `port`, with the checks in the module header. */
export function readLocalToken(file: string, port: number): LocalTokenLookup {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(file);
  } catch (err) {
    return { why: `the node keeps its write token in ${file}, which this user cannot see (${(err as NodeJS.ErrnoException).code})` };
  }
  if (!st.isFile() || (st.mode & 0o077) !== 0 || st.size > 256) return { why: `${file} is not a Meridian token file (a regular file of mode 0600)` };
  const owners = listenerUids(port);
  if (owners !== null && !owners.includes(st.uid)) return { why: `${file} does not belong to the user whose program listens on port ${port}; not sending it` };
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8').trim();
  } catch (err) {
    return {
      why: `the node keeps its write token in ${file}, which this user cannot read (${(err as NodeJS.ErrnoException).code}); run as that user, or give --token`,
    };
  }
  if (!LOCAL_TOKEN_PATTERN.test(text)) return { why: `${file} does not hold a Meridian token` };
  return { token: text };
}

/**
 * The uids of the sockets listening on TCP `port` (Linux: /proc/net/tcp and tcp6), or null where
 * that cannot be read.
 */
export function listenerUids(port: number): number[] | null {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const uids: number[] = [];
  let readAny = false;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = fs.readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    readAny = true;
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid ...
      const f = line.trim().split(/\s+/);
      if (f.length < 8 || f[3] !== '0A') continue; // 0A: LISTEN
      if (f[1]!.split(':')[1] !== hexPort) continue;
      uids.push(Number(f[7]));
    }
  }
  return readAny ? uids : null;
}
