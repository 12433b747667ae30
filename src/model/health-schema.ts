/**
 * @module model/health-schema
 * The `checks:` section of a YAML zone: named health checks that pools and endpoints refer to
 * (docs/health.md). Plain schemas, like the rest of model/; health/config.ts checks what a
 * schema cannot (references, loops, timeout < interval) and compiles them.
 */
import { Type, type Static } from '@sinclair/typebox';

/** A check duration: seconds (`2`, `0.5`) or units ms, s, m, h, combinable (`1s`, `500ms`, `1m30s`). */
export function CheckDuration(description: string) {
  return Type.Union([Type.Number({ minimum: 0, maximum: 86_400 }), Type.String({ pattern: CHECK_DURATION_PATTERN })], {
    description: `${description} Seconds (\`2\`, \`0.5\`) or a string with units ms, s, m, h (\`500ms\`, \`10s\`, \`1m30s\`).`,
    'x-error': 'must be seconds or a duration such as 500ms, 10s, 1m30s',
  });
}
export const CHECK_DURATION_PATTERN = '^(?:[0-9]+(?:ms|s|m|h))+$';

/** Milliseconds in a check duration that passed the schema. */
export function checkDurationMs(value: string | number): number {
  if (typeof value === 'number') return Math.round(value * 1000);
  let total = 0;
  for (const m of value.matchAll(/([0-9]+)(ms|s|m|h)/g)) {
    const n = Number(m[1]);
    total += m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : m[2] === 'm' ? n * 60_000 : n * 3_600_000;
  }
  return total;
}

const ID_PATTERN = '^[a-z0-9][a-z0-9_.-]{0,62}$';

export const QuorumSetting = Type.Union(
  [Type.Literal('majority'), Type.Literal('any'), Type.Literal('all'), Type.Integer({ minimum: 1 })],
  { description: 'Fresh votes that must say up: `majority` (default), `any`, `all`, or a number.', 'x-error': 'must be majority, any, all, or a number of at least 1' },
);

export const CheckEntry = Type.Object(
  {
    id: Type.String({ pattern: ID_PATTERN, description: 'Check id, which pools and endpoints refer to.', 'x-error': 'must be an id: lowercase letters, digits, ".", "_" and "-"' }),
    type: Type.Union([Type.Literal('http'), Type.Literal('https'), Type.Literal('tcp'), Type.Literal('all'), Type.Literal('any'), Type.Literal('at_least')], {
      description: 'A probe (`http`, `https`, `tcp`) or a calculated check over other checks (`all`, `any`, `at_least`).',
      'x-error': 'must be one of http, https, tcp, all, any, at_least',
    }),
    // probes
    path: Type.Optional(Type.String({ pattern: '^/', description: 'HTTP path. Default `/`.', 'x-error': 'must start with "/"' })),
    method: Type.Optional(Type.String({ pattern: '^[A-Z]+$', description: 'HTTP method. Default `GET`.', 'x-error': 'must be an upper-case HTTP method such as GET or HEAD' })),
    host: Type.Optional(Type.String({ minLength: 1, description: 'Host header and TLS SNI. Default: the endpoint\'s hostname, or none for an address.' })),
    headers: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'Extra request headers.' })),
    expect_status: Type.Optional(
      // An array of two rather than a tuple: OpenAPI 3.0 has no tuple form.
      Type.Array(Type.Integer({ minimum: 100, maximum: 599 }), { minItems: 2, maxItems: 2, description: 'Inclusive status range [low, high] that means up. Default [200, 399].' }),
    ),
    body: Type.Optional(Type.String({ description: 'Up only if the first 64 KiB of the body contain this text.' })),
    body_regex: Type.Optional(Type.String({ description: 'Up only if the first 64 KiB of the body match this regular expression.' })),
    tls_verify: Type.Optional(Type.Boolean({ description: 'Verify the server certificate (https). Default true.' })),
    follow_redirects: Type.Optional(Type.Boolean({ description: 'Not supported yet: must be false (a 3xx is judged by its status).' })),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, description: 'Port to probe. Default 80 (http), 443 (https); required for tcp.' })),
    address: Type.Optional(Type.String({ minLength: 1, description: 'Probe this address or host instead of the endpoint\'s.' })),
    // calculated
    checks: Type.Optional(Type.Array(Type.String({ pattern: ID_PATTERN }), { minItems: 1, description: 'The checks an `all`, `any` or `at_least` check combines.' })),
    at_least: Type.Optional(Type.Integer({ minimum: 1, description: 'For `at_least`: how many of `checks` must be up.' })),
    inverted: Type.Optional(Type.Boolean({ description: 'Up means down and down means up.' })),
    // timing and votes
    interval: Type.Optional(CheckDuration('Time between checks. Default 10s, minimum 1s.')),
    timeout: Type.Optional(CheckDuration('Time a probe may take. Default 2s; must be less than the interval.')),
    rise: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'Consecutive ups to turn up. Default 2.' })),
    fall: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'Consecutive downs to turn down. Default 3.' })),
    jitter: Type.Optional(Type.Number({ minimum: 0, maximum: 0.5, description: 'Fraction of the interval by which each run is moved at random. Default 0.1.' })),
    quorum: Type.Optional(QuorumSetting),
    stale_after: Type.Optional(CheckDuration('A vote older than this does not count. Default 3 × interval.')),
  },
  { title: 'Check', description: 'A health check.', additionalProperties: false },
);
export type CheckEntry = Static<typeof CheckEntry>;
