/**
 * @module log
 * The one root pino logger. Modules take a child with their component name:
 * `log.child({ component: 'dns' })`. Objects first, a short constant message second; errors go
 * under `err`. No per-query logs at info level. `MERIDIAN_LOG_LEVEL` sets the level.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

/** Creates the root logger (JSON lines on stdout). */
export function createLogger(level = process.env.MERIDIAN_LOG_LEVEL ?? 'info'): Logger {
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
