/**
 * The one duration grammar (proto/duration.ts) against the four it replaced: each caller accepts
 * exactly what it accepted before, with the same values, and keeps its own error message.
 */
import { describe, expect, it } from 'vitest';
import { CHECK_DURATION, CLI_DURATION, MAX_TTL, TTL_DURATION, durationPattern, durationValue, parseDuration, parseTtlUnits } from './duration.js';
import { checkDurationMs } from '../checks/schema.js';
import { DURATION_PATTERN } from '../validation/duration.js';
import { parseMasterFile } from '../zone/master-file.js';
import { parseRdataText } from './rdata.js';
import { RRType } from './types.js';
import { allStrings } from '../../test/support/strings.js';

// The grammars as each caller wrote its own before they were merged, kept here as the oracle.
const before = {
  /** proto/rdata.ts parseTtlUnits (master files, YAML zones, policy TTLs, SOA timers). */
  ttl(text: string): number | undefined {
    if (/^[0-9]+$/.test(text)) return Number(text);
    if (!/^([0-9]+[smhdw])+$/i.test(text)) return undefined;
    const unit: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
    let total = 0;
    for (const m of text.toLowerCase().matchAll(/([0-9]+)([smhdw])/g)) total += Number(m[1]) * unit[m[2]!]!;
    return total;
  },
  /** checks/schema.ts: the schema pattern, then checkDurationMs. */
  check(text: string): number | undefined {
    if (!/^(?:[0-9]+(?:ms|s|m|h))+$/.test(text)) return undefined;
    let total = 0;
    for (const m of text.matchAll(/([0-9]+)(ms|s|m|h)/g)) {
      const n = Number(m[1]);
      total += m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : m[2] === 'm' ? n * 60_000 : n * 3_600_000;
    }
    return total;
  },
  /** cli/ctl.ts `--for`. */
  cli(text: string): number | undefined {
    const m = /^(\d+)(s|m|h|d)?$/.exec(text);
    return m ? Number(m[1]) * ({ s: 1, m: 60, h: 3600, d: 86400 } as Record<string, number>)[m[2] ?? 's']! : undefined;
  },
};

/** Hand-picked edge cases, then every string of up to 4 characters over the grammars' alphabet. */
const inputs = (): string[] =>
  allStrings(['1', '0', '9', 's', 'm', 'h', 'd', 'w', 'S', 'M', 'H', 'W', 'x', ' '], 4, [
    '',
    '0',
    '300',
    '007',
    '1h30m',
    '1H30M',
    '2W',
    '2w',
    '1d',
    '1ms',
    '500ms',
    '1m30s',
    '1m30',
    '30m1',
    'ms',
    's',
    '1',
    '1 h',
    ' 1h',
    '1h ',
    '1.5s',
    '-1',
    '+1',
    '1e3',
    '١',
    '1x',
    '1hh',
    '99999999999999999999',
    '4000w',
    '1MS',
    '1Ms',
    '0x10',
    '10s10s',
  ]);

describe('one duration grammar', () => {
  const cases = inputs();

  it.each([
    ['TTL (BIND units)', TTL_DURATION, before.ttl],
    ['check (ms s m h)', CHECK_DURATION, before.check],
    ['CLI --for (one unit)', CLI_DURATION, before.cli],
  ] as const)('%s accepts exactly what it did before, with the same values', (_name, grammar, old) => {
    const differ = cases.filter((t) => parseDuration(grammar, t) !== old(t)).map((t) => `${JSON.stringify(t)}: ${parseDuration(grammar, t)} vs ${old(t)}`);
    expect(differ).toEqual([]);
    // And the table is not vacuous: each grammar both accepts and refuses some of the inputs.
    expect(cases.filter((t) => old(t) !== undefined).length).toBeGreaterThan(50);
    expect(cases.filter((t) => old(t) === undefined).length).toBeGreaterThan(50);
  });

  it.each([
    [TTL_DURATION, '^(?:[0-9]+|(?:[0-9]+[smhdwSMHDW])+)$'],
    [CHECK_DURATION, '^(?:[0-9]+(?:ms|s|m|h))+$'],
    [CLI_DURATION, '^(?:[0-9]+|[0-9]+[smhd])$'],
  ])('its JSON Schema pattern is the one the schemas published (%#)', (grammar, pattern) => {
    expect(durationPattern(grammar)).toBe(pattern);
  });

  it('the schema patterns come from the grammar', () => {
    expect(DURATION_PATTERN).toBe(durationPattern(TTL_DURATION));
  });

  it.each([
    ['1h30m', 5400],
    ['2W', 1209600],
    ['3600', 3600],
    ['1h x', undefined],
  ])('parseTtlUnits(%j) is %j', (text, seconds) => {
    expect(parseTtlUnits(text)).toBe(seconds);
  });

  it.each([
    [TTL_DURATION, 300, 300],
    [TTL_DURATION, '5m', 300],
    [CHECK_DURATION, 0.5, 500],
    [CHECK_DURATION, 2, 2000],
    [CHECK_DURATION, 0.0004, 0],
    [CHECK_DURATION, '1m30s', 90_000],
    [CHECK_DURATION, '2', undefined],
  ] as const)('durationValue of a schema-checked value (%#)', (grammar, value, expected) => {
    expect(durationValue(grammar, value)).toBe(expected);
  });

  it('checkDurationMs reads numbers as seconds and text in ms, s, m, h', () => {
    expect([checkDurationMs(1.5), checkDurationMs('500ms'), checkDurationMs('1h1s')]).toEqual([1500, 500, 3_601_000]);
    expect(() => checkDurationMs('5 s')).toThrow(/not a check duration/);
  });

  // Each caller keeps its own range check and message (RFC 2181 §8 for TTLs, 2^32-1 for SOA timers).
  it.each([
    ['$TTL 1x\n', 'bad TTL: $TTL "1x" is not a number of seconds or a form such as 1h30m'],
    ['$TTL 3551w\n', `bad TTL: $TTL 3551w is over ${MAX_TTL} (RFC 2181 §8)`],
    ['$TTL 1h30M\nwww A 192.0.2.1\n', null],
  ])('master file %j', (text, message) => {
    const z = parseMasterFile(text, { file: 'x.zone', origin: 'example.org' });
    expect(z.errors.map((e) => e.message.replace(/^MRD_ERR_ZONE_TTL x\.zone:\d+: /, '').replace(/ \(record: .*\)$/, ''))).toEqual(
      message === null ? [] : [message],
    );
    if (message === null) expect(z.records[0]!.ttlSeconds).toBe(5400);
  });

  it.each([
    ['ns. host. 1 1h 10M 2w 1d', null],
    ['ns. host. 1 1h 10M 2w 1x', 'minimum "1x" is not a number of seconds (or a form such as 1h30m) below 2^32'],
    ['ns. host. 1 1h 10M 4294967296 1d', 'expire "4294967296" is not a number of seconds (or a form such as 1h30m) below 2^32'],
  ])('SOA timers %j', (text, message) => {
    const parse = () => parseRdataText(RRType.SOA, text, '');
    if (message === null) expect(parse().length).toBeGreaterThan(20);
    else expect(parse).toThrow(message);
  });
});
