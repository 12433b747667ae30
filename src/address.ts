/**
 * @module address
 * Host and port: parsing `HOST:PORT` and `[V6]:PORT` (IP literals only: no lookups), formatting
 * them for logs and addresses, and telling loopback hosts apart. Shared by the CLI, the DNS layer
 * (NOTIFY targets) and the admin API (cluster members' addresses), so it imports nothing of theirs.
 */
import { isIP } from 'node:net';
import { createError } from './errors.js';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/**
 * Parses `HOST:PORT` or `[V6]:PORT`. The host must be an IP literal (no lookups at startup).
 * Throws MRD_ERR_CLI_USAGE naming `flag` (the option or field the text came from).
 */
export function parseHostPort(text: string, flag: string): HostPort {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  if (!m) throw createError('MRD_ERR_CLI_USAGE', `${flag} must be HOST:PORT or [IPV6]:PORT, got "${text}"`);
  const host = m[1]!;
  const port = Number(m[2]);
  if (isIP(host) === 0) throw createError('MRD_ERR_CLI_USAGE', `${flag}: "${host}" is not an IP address`);
  if (port > 65535) throw createError('MRD_ERR_CLI_USAGE', `${flag}: port ${port} is out of range`);
  return { host, port };
}

/** Formats a host and port for logs, bracketing IPv6. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** True for loopback addresses and `localhost` (the admin API may be open there). */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}
