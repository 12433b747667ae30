/**
 * @module validation/duration
 * The Duration schema (seconds, or BIND units such as `1h30m`) shared by the zone, policy and
 * latency-file schemas; the grammar itself is proto/duration.ts.
 */
import { Type, type Static } from '@sinclair/typebox';
import { MAX_TTL, TTL_DURATION, durationPattern } from '../proto/duration.js';

export { MAX_U32 } from '../proto/duration.js';
/** A duration string: seconds (`300`) or BIND units (`30s`, `10m`, `1h`, `1d`, `2w`, `1h30m`); proto/duration.ts's grammar. */
export const DURATION_PATTERN = durationPattern(TTL_DURATION);

function durationReason(max: number): string {
  return `must be a number of seconds from 0 to ${max} or a duration such as 30s, 10m, 1h, 1d, 2w or 1h30m`;
}

/**
 * Seconds as an integer, or a BIND-style duration string (`1h30m`). Each Duration-valued property
 * gets its own copy so that it can carry its own description. `max` is 2^31-1 for TTLs (RFC 2181
 * §8) and 2^32-1 for SOA timers (RFC 1035 §3.3.13); a string's value is not range-checked here.
 */
export function Duration(description: string, max: number = MAX_TTL) {
  return Type.Union(
    [
      Type.Integer({ minimum: 0, maximum: max, description: 'Seconds.' }),
      Type.String({ pattern: DURATION_PATTERN, description: 'BIND duration units s, m, h, d, w, combinable (`1h30m`).' }),
    ],
    {
      title: 'Duration',
      description: `${description} Seconds as an integer (0 to ${max}), or a string with BIND units s, m, h, d, w such as \`10m\` or \`1h30m\`.`,
      'x-error': durationReason(max),
    },
  );
}
/** A Duration value: seconds, or a string such as `1h30m`. */
export type Duration = Static<ReturnType<typeof Duration>>;
