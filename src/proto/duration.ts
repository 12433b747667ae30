/**
 * @module proto/duration
 * The one duration grammar: a number with units (`1h30m`, `500ms`, `90s`), and the TTL limits.
 * Like the rest of src/proto/, it imports nothing else of src/.
 *
 * Owns: {@link parseDuration} (text → a number of the grammar's base unit, or `undefined`),
 * {@link durationPattern} (the same grammar as a JSON Schema `pattern`), {@link durationValue}
 * (a schema-checked `number | string` value), and the grammars Meridian accepts:
 *
 *   - {@link TTL_DURATION}: zone files, YAML zones and policy TTLs. Seconds (`300`) or BIND units
 *     s, m, h, d, w in any case, combinable (`1h30m`, `2W`); the base unit is the second.
 *   - {@link CHECK_DURATION}: health-check times (`interval`, `timeout`, `stale_after`). Units ms,
 *     s, m, h in lower case, combinable, one required (`500ms`, `1m30s`); a JSON number is seconds
 *     (`0.5` allowed); the base unit is the millisecond.
 *   - {@link CLI_DURATION}: `meridian ctl … --for`. Seconds (`90`) or one of s, m, h, d in lower
 *     case (`90s`, `30m`, `2h`, `1d`), not combined; the base unit is the second.
 *
 * The TTL grammar is BIND's and NSD's extension of RFC 1035 §5.1's plain seconds (RFC 2308 §4
 * `$TTL` uses it too). Range checks belong to the callers, each with its own message: a TTL stops
 * at {@link MAX_TTL} (RFC 2181 §8), an SOA timer at {@link MAX_U32} (RFC 1035 §3.3.13).
 */

/** The largest value a TTL may take (RFC 2181 §8: an unsigned 31-bit number). */
export const MAX_TTL = 0x7fffffff;
/** RFC 1035 §3.3.13, RFC 1982: the SOA serial and timers are unsigned 32-bit numbers. */
export const MAX_U32 = 4294967295;

/** One duration grammar. */
export interface DurationGrammar {
  /**
   * The units and what each is worth in the base unit, in matching order: a unit that is a
   * prefix of another (`m` of `ms`) comes after it.
   */
  readonly units: readonly (readonly [unit: string, value: number])[];
  /** Units in any letter case (`1H30M`); only for one-letter units. */
  readonly ignoreCase: boolean;
  /** Several number-unit groups in a row (`1h30m`), summed. */
  readonly combine: boolean;
  /** What a bare number (`300`) is worth in the base unit; absent when a unit is required. */
  readonly bare?: number;
  /** What a JSON number (from a schema-checked document) is worth in the base unit. */
  readonly fromNumber: (n: number) => number;
}

/** TTLs and SOA timers: seconds (`3600`) or BIND units s, m, h, d, w in any case (`1h30m`, `2W`). */
export const TTL_DURATION: DurationGrammar = {
  units: [
    ['s', 1],
    ['m', 60],
    ['h', 3600],
    ['d', 86400],
    ['w', 604800],
  ],
  ignoreCase: true,
  combine: true,
  bare: 1,
  fromNumber: (n) => n,
};

/** Health-check times in milliseconds: units ms, s, m, h (`500ms`, `1m30s`); a JSON number is seconds. */
export const CHECK_DURATION: DurationGrammar = {
  units: [
    ['ms', 1],
    ['s', 1000],
    ['m', 60_000],
    ['h', 3_600_000],
  ],
  ignoreCase: false,
  combine: true,
  fromNumber: (n) => Math.round(n * 1000),
};

/** `meridian ctl --for`: seconds, or one of s, m, h, d (`90s`, `30m`, `2h`, `1d`). */
export const CLI_DURATION: DurationGrammar = {
  units: [
    ['s', 1],
    ['m', 60],
    ['h', 3600],
    ['d', 86400],
  ],
  ignoreCase: false,
  combine: false,
  bare: 1,
  fromNumber: (n) => n,
};

/** The regular expression source of one unit (no flags: JSON Schema patterns have none). */
function unitSource(g: DurationGrammar): string {
  const names = g.units.map(([u]) => u);
  if (names.every((u) => u.length === 1)) return `[${names.join('')}${g.ignoreCase ? names.join('').toUpperCase() : ''}]`;
  if (g.ignoreCase) throw new Error('ignoreCase is only for one-letter units');
  return `(?:${names.join('|')})`;
}

/** The grammar as an anchored regular expression source, fit for a JSON Schema `pattern`. */
export function durationPattern(g: DurationGrammar): string {
  const group = `[0-9]+${unitSource(g)}`;
  const body = g.combine ? `(?:${group})+` : group;
  return g.bare === undefined ? `^${body}$` : `^(?:[0-9]+|${body})$`;
}

const compiled = new WeakMap<DurationGrammar, { whole: RegExp; group: RegExp; value: Map<string, number> }>();

function compile(g: DurationGrammar) {
  let c = compiled.get(g);
  if (!c) {
    c = {
      whole: new RegExp(durationPattern(g)),
      group: new RegExp(`([0-9]+)(${unitSource(g)})`, 'g'),
      value: new Map(g.units.map(([u, v]) => [u, v])),
    };
    compiled.set(g, c);
  }
  return c;
}

/**
 * The value of duration text in the grammar's base unit, or `undefined` when the text is not in
 * the grammar. Not range-checked: a caller compares with its own limit.
 */
export function parseDuration(g: DurationGrammar, text: string): number | undefined {
  const c = compile(g);
  if (!c.whole.test(text)) return undefined;
  if (g.bare !== undefined && /^[0-9]+$/.test(text)) return Number(text) * g.bare;
  let total = 0;
  for (const m of text.matchAll(c.group)) total += Number(m[1]) * c.value.get(g.ignoreCase ? m[2]!.toLowerCase() : m[2]!)!;
  return total;
}

/**
 * The value of a Duration that a schema let through (a JSON number or text in the grammar), in
 * the base unit; `undefined` for text outside the grammar.
 */
export function durationValue(g: DurationGrammar, value: string | number): number | undefined {
  return typeof value === 'number' ? g.fromNumber(value) : parseDuration(g, value);
}

/** A TTL or SOA timer in seconds (`3600`, `1h30m`); `undefined` when it is neither form. */
export function parseTtlUnits(text: string): number | undefined {
  return parseDuration(TTL_DURATION, text);
}
