/**
 * @module log
 * The one root pino logger. Modules take a child with their component name:
 * `log.child({ component: 'dns' })`. Objects first, a short constant message second; errors go
 * under `err`. No per-query logs at info level. `MERIDIAN_LOG_LEVEL` sets the level.
 */
import { pino, type Logger } from 'pino';
import { createError } from './errors.js';

export type { Logger };

/** pino's levels: what `MERIDIAN_LOG_LEVEL` and `--log-level` accept. */
export const LOG_LEVELS: readonly string[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/**
 * Creates the root logger (JSON lines on stdout). An unknown level is a usage error
 * (MRD_ERR_CLI_USAGE, exit 2) naming MERIDIAN_LOG_LEVEL, not pino's stack trace.
 */
export function createLogger(level = process.env.MERIDIAN_LOG_LEVEL || 'info'): Logger {
  if (!LOG_LEVELS.includes(level)) throw createError('MRD_ERR_CLI_USAGE', `MERIDIAN_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, not "${level}"`);
  return pino({
    level,
    base: { pid: process.pid },
    redact: { paths: ['token', '*.token', 'authorization', '*.authorization', 'headers.authorization'], censor: '[redacted]' },
  });
}

/** A logger that writes nothing, for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
