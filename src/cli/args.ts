/**
 * @module cli/args
 * Small helpers shared by the subcommands: HOST:PORT, integer and node id parsing, usage errors.
 */
import { isIP } from 'node:net';
import { createError } from '../errors.js';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** Parses `HOST:PORT` or `[V6]:PORT`. The host must be an IP literal (no lookups at startup). */
export function parseHostPort(text: string, flag: string): HostPort {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  if (!m) throw createError('MRD_ERR_CLI_USAGE', `${flag} must be HOST:PORT or [IPV6]:PORT, got "${text}"`);
  const host = m[1]!;
  const port = Number(m[2]);
  if (isIP(host) === 0) throw createError('MRD_ERR_CLI_USAGE', `${flag}: "${host}" is not an IP address`);
  if (port > 65535) throw createError('MRD_ERR_CLI_USAGE', `${flag}: port ${port} is out of range`);
  return { host, port };
}

/** An integer option from `min` to `max`; throws MRD_ERR_CLI_USAGE otherwise. */
export function positiveInt(text: string, flag: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) throw createError('MRD_ERR_CLI_USAGE', `${flag} must be an integer from ${min} to ${max}`);
  return n;
}

/** A node id (`--node-id`): what may be part of an etcd key and a URL path. */
export function nodeIdOf(text: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(text)) throw createError('MRD_ERR_CLI_USAGE', `--node-id must be letters, digits, ".", "_" or "-" (at most 63), not "${text}"`);
  return text;
}

/** Formats a host and port for logs, bracketing IPv6. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** True for loopback addresses and `localhost` (the admin API may be open there). */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}
