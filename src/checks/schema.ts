/**
 * @module checks/schema
 * The `checks:` section of a YAML zone: named health checks that pools and endpoints refer to
 * (docs/health.md). Plain schemas, like those of model/zone-schema.ts, which puts this one into the zone document; checks/config.ts checks what a
 * schema cannot (references, loops, timeout < interval) and compiles them.
 *
 * The probe types and their fields are not listed here: each check type's module declares its
 * own (checks/*), and {@link CheckEntry} puts together the ones checks/registry.ts
 * registers, with the fields of calculated checks, timing and votes.
 */
import { Type, type Static, type TProperties } from '@sinclair/typebox';
import { CHECK_DURATION, durationPattern, durationValue } from '../proto/duration.js';
import { PROBE_FIELDS } from './check.js';
import { CHECK_TYPES, PROBE_TYPE_NAMES, type AllProbeFields } from './registry.js';

/** A check duration: seconds (`2`, `0.5`) or units ms, s, m, h, combinable (`1s`, `500ms`, `1m30s`). */
export function CheckDuration(description: string) {
  return Type.Union([Type.Number({ minimum: 0, maximum: 86_400 }), Type.String({ pattern: CHECK_DURATION_PATTERN })], {
    description: `${description} Seconds (\`2\`, \`0.5\`) or a string with units ms, s, m, h (\`500ms\`, \`10s\`, \`1m30s\`).`,
    'x-error': 'must be seconds or a duration such as 500ms, 10s, 1m30s',
  });
}
/** proto/duration.ts's check grammar as a schema pattern: `^(?:[0-9]+(?:ms|s|m|h))+$`. */
export const CHECK_DURATION_PATTERN = durationPattern(CHECK_DURATION);

/** Milliseconds in a check duration that passed the schema. */
export function checkDurationMs(value: string | number): number {
  const ms = durationValue(CHECK_DURATION, value);
  if (ms === undefined) throw new Error(`"${value}" is not a check duration (the schema lets only ${CHECK_DURATION_PATTERN} through)`);
  return ms;
}

const ID_PATTERN = '^[a-z0-9][a-z0-9_.-]{0,62}$';

export const QuorumSetting = Type.Union([Type.Literal('majority'), Type.Literal('any'), Type.Literal('all'), Type.Integer({ minimum: 1 })], {
  description: 'Fresh votes that must say up: `majority` (default), `any`, `all`, or a number.',
  'x-error': 'must be majority, any, all, or a number of at least 1',
});

const CALCULATED_TYPES = ['all', 'any', 'at_least'] as const;
const CHECK_TYPE_NAMES = [...PROBE_TYPE_NAMES, ...CALCULATED_TYPES];

/** Every field of every probe type (checks/*), in registry order, `port` and `address` after the first type's. */
function probeFields(): AllProbeFields & typeof PROBE_FIELDS {
  const [first, ...rest] = CHECK_TYPES;
  return Object.assign({}, first.fields, PROBE_FIELDS, ...rest.map((t): TProperties => t.fields));
}

/**
 * A check entry. One flat object rather than a union of one object per type, so that a mistake
 * is reported against the field at fault; which fields apply to which type is checked in
 * checks/config.ts.
 */
export const CheckEntry = Type.Object(
  {
    id: Type.String({
      pattern: ID_PATTERN,
      description: 'Check id, which pools and endpoints refer to.',
      'x-error': 'must be an id: lowercase letters, digits, ".", "_" and "-"',
    }),
    type: Type.Union(
      CHECK_TYPE_NAMES.map((n) => Type.Literal(n)),
      {
        description: `A probe (${PROBE_TYPE_NAMES.map((n) => `\`${n}\``).join(', ')}) or a calculated check over other checks (\`all\`, \`any\`, \`at_least\`).`,
        'x-error': `must be one of ${CHECK_TYPE_NAMES.join(', ')}`,
      },
    ),
    // probes (checks/*)
    ...probeFields(),
    // calculated
    checks: Type.Optional(
      Type.Array(Type.String({ pattern: ID_PATTERN }), { minItems: 1, description: 'The checks an `all`, `any` or `at_least` check combines.' }),
    ),
    at_least: Type.Optional(Type.Integer({ minimum: 1, description: 'For `at_least`: how many of `checks` must be up.' })),
    inverted: Type.Optional(Type.Boolean({ description: 'Up means down and down means up.' })),
    // timing and votes
    interval: Type.Optional(CheckDuration('Time between checks. Default 10s, minimum 1s.')),
    timeout: Type.Optional(CheckDuration('Time a probe may take. Default 2s; must be less than the interval.')),
    rise: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'Consecutive ups to turn up. Default 2.' })),
    fall: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'Consecutive downs to turn down. Default 3.' })),
    jitter: Type.Optional(
      Type.Number({ minimum: 0, maximum: 0.5, description: 'Fraction of the interval by which each run is moved at random. Default 0.1.' }),
    ),
    quorum: Type.Optional(QuorumSetting),
    stale_after: Type.Optional(CheckDuration('A vote older than this does not count. Default 3 × interval.')),
  },
  { title: 'Check', description: 'A health check.', additionalProperties: false },
);
export type CheckEntry = Static<typeof CheckEntry>;
