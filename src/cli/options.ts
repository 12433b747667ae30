/**
 * @module cli/options
 * Option tables and how a command's options are resolved from four places: the one way every
 * `meridian` command reads its options, prints its `--help` and reports a usage error (exit 2,
 * src/main.ts). A command declares its options once, as a table of {@link OptionSpec} (name, type,
 * default, help, environment variable); from that one table come its `--help` text
 * ({@link renderCommandHelp}), its `node:util` parseArgs flags, the keys its `--config FILE`
 * (YAML) accepts and the `MERIDIAN_<OPTION>` environment variables it reads, so none of them can
 * drift from the others. A command that takes no config file (`check`, `cluster`, `ctl`) says so
 * with `config: false`; an option read from no variable has `env: null`.
 *
 * Precedence, per option: a flag on the command line, then the environment, then the config file,
 * then the default. Every value is checked for its type wherever it comes from, and a bad one names
 * where it came from (`--dns`, `MERIDIAN_DNS`, or `meridian.yaml:4: dns`); all of these are usage
 * errors (exit 2). An unknown key in the config file is an error with its file and line. Relative
 * paths in a config file are relative to the file's directory; on the command line and in the
 * environment, to the working directory.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Node as YamlNode } from 'yaml';
import { createError, MeridianError } from '../errors.js';
import { parseHostPort, type HostPort } from '../address.js';

/**
 * How an option's value is read and checked:
 *   - `string`: any non-empty text;
 *   - `path`: a file or directory, made absolute;
 *   - `boolean`: a flag (`--no-cache`); `true`/`false` in YAML, `1`/`0`/`true`/`false`/`yes`/`no` in the environment;
 *   - `integer`: from `min` to `max`;
 *   - `host-port`: `HOST:PORT` or `[V6]:PORT` with an IP literal;
 *   - `list`: comma-separated text (flag, environment) or a YAML list of strings;
 *   - `choice`: one of `choices`.
 */
export type OptionType = 'string' | 'path' | 'boolean' | 'integer' | 'host-port' | 'list' | 'choice';

export interface OptionSpec {
  /** The long flag without `--`; also the config file key. */
  readonly name: string;
  /** A one-letter flag (`-q`) besides the long one. */
  readonly short?: string;
  readonly type: OptionType;
  /** The value's placeholder in `--help` (`DIR`, `HOST:PORT`). */
  readonly arg?: string;
  /** Used when no flag, variable or config key gives the option; none: the option is unset. */
  readonly default?: string | number | boolean;
  readonly min?: number;
  readonly max?: number;
  readonly choices?: readonly string[];
  /** One line (or a few, separated by "\n") for `--help`; the default is appended. */
  readonly help: string;
  /** The environment variable; by rule `MERIDIAN_` + the name in upper case with `_` for `-`; null: none. */
  readonly env: string | null;
  /** A heading in `--help` for options after the first group (e.g. cluster mode). */
  readonly group?: string;
  /** A config key that is not this option but an operator might try (answered with a hint). */
  readonly alias?: { readonly key: string; readonly hint: string };
}

/** The environment variable of an option by the rule: `tcp-max-connections` → `MERIDIAN_TCP_MAX_CONNECTIONS`. */
export function envName(option: string): string {
  return `MERIDIAN_${option.toUpperCase().replace(/-/g, '_')}`;
}

/** An option spec with its environment variable named by the rule unless given. */
export function option(spec: Omit<OptionSpec, 'env'> & { env?: string | null }): OptionSpec {
  return { ...spec, env: spec.env === undefined ? envName(spec.name) : spec.env };
}

/** A flag of one command only: read from no environment variable (`--json`, `--force`). */
export function flag(spec: Omit<OptionSpec, 'env'>): OptionSpec {
  return { ...spec, env: null };
}

export type OptionValue = string | number | boolean | HostPort | readonly string[];
export type OptionSource = 'flag' | 'env' | 'file' | 'default';

/** What {@link resolveOptions} found: each option's value (undefined: unset) and where it came from. */
export interface ResolvedOptions {
  readonly values: Readonly<Record<string, OptionValue | undefined>>;
  readonly sources: Readonly<Record<string, OptionSource>>;
  /** The config file read, made absolute; undefined without `--config`/`MERIDIAN_CONFIG`. */
  readonly configFile: string | undefined;
  readonly help: boolean;
  /** The arguments that are not options, for a command that takes them (`positionals: true`). */
  readonly positionals: readonly string[];
}

/** How a command takes its arguments, besides its option table. */
export interface CommandArgs {
  /** Arguments that are not options are allowed (files, subcommands); default false. */
  readonly positionals?: boolean;
  /** `--config FILE` and MERIDIAN_CONFIG are read; default true. */
  readonly config?: boolean;
  /** Relative paths on the command line and in the environment are relative to this; default the working directory. */
  readonly cwd?: string;
}

/** The `--config FILE` option every table-driven command takes (also `MERIDIAN_CONFIG`). */
export const CONFIG_OPTION = option({
  name: 'config',
  type: 'path',
  arg: 'FILE',
  help: 'read options from this YAML file (docs/operations.md, "Configuration")',
});

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off']);

/** A usage error: a bad flag, argument or value (exit 2, src/main.ts). */
export function usageError(message: string): MeridianError {
  return createError('MRD_ERR_CLI_USAGE', message);
}
const usage = usageError;

/** Checks one value from a flag or the environment (text) or a config file (any YAML value). */
function convert(spec: OptionSpec, raw: unknown, label: string, baseDir: string, fromFile: boolean): OptionValue {
  const bad = (what: string): MeridianError =>
    usage(`${label} must be ${what}${fromFile ? `, not ${JSON.stringify(raw)}` : typeof raw === 'string' ? `, not "${raw}"` : ''}`);
  switch (spec.type) {
    case 'boolean': {
      if (typeof raw === 'boolean') return raw;
      if (!fromFile && typeof raw === 'string') {
        if (TRUE.has(raw.toLowerCase())) return true;
        if (FALSE.has(raw.toLowerCase())) return false;
      }
      throw bad(fromFile ? 'true or false' : 'true or false (or 1 or 0)');
    }
    case 'integer': {
      const min = spec.min ?? 0;
      const max = spec.max ?? Number.MAX_SAFE_INTEGER;
      const n = typeof raw === 'number' && fromFile ? raw : typeof raw === 'string' && !fromFile && /^\d+$/.test(raw) ? Number(raw) : NaN;
      if (!Number.isInteger(n) || n < min || n > max) throw bad(`an integer from ${min} to ${max}`);
      return n;
    }
    case 'list': {
      const items = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',').map((s) => s.trim()) : null;
      if (!items || items.length === 0 || items.some((s) => typeof s !== 'string' || s === ''))
        throw bad(fromFile ? 'a list of strings (or one comma-separated string)' : 'a comma-separated list');
      return items as string[];
    }
    default:
      break;
  }
  // A text option whose value may be a number (`workers: 2`): YAML reads that as a number.
  if (spec.type === 'string' && fromFile && typeof raw === 'number' && Number.isFinite(raw)) return String(raw);
  if (typeof raw !== 'string' || raw === '') throw bad('a non-empty string');
  switch (spec.type) {
    case 'path':
      return path.resolve(baseDir, raw);
    case 'host-port':
      try {
        return parseHostPort(raw, label);
      } catch (err) {
        throw usage((err as Error).message);
      }
    case 'choice':
      if (!spec.choices!.includes(raw)) throw bad(`one of ${spec.choices!.join(', ')}`);
      return raw;
    default:
      return raw;
  }
}

interface FileEntry {
  readonly value: unknown;
  readonly line: number;
}

/** Reads a config file: a YAML map of option names to values. Throws MRD_ERR_CONFIG_FILE with file:line. */
export function readConfigFile(file: string, specs: readonly OptionSpec[]): Map<string, FileEntry> {
  const fail = (line: number, message: string): MeridianError => createError('MRD_ERR_CONFIG_FILE', `${line > 0 ? `${file}:${line}` : file}: ${message}`);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw fail(0, `cannot read the config file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length > 0) throw fail(lines.linePos(doc.errors[0]!.pos[0]).line, doc.errors[0]!.message.split('\n')[0]!);
  const lineOf = (node: unknown): number => {
    const r = (node as YamlNode | null)?.range;
    return r ? lines.linePos(r[0]).line : 0;
  };
  const out = new Map<string, FileEntry>();
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) return out;
  if (!isMap(doc.contents)) throw fail(lineOf(doc.contents), 'expected a map of option names to values, such as "zones: ./zones"');
  const byName = new Map(specs.map((s) => [s.name, s]));
  for (const pair of doc.contents.items) {
    const line = lineOf(pair.key);
    const key = isScalar(pair.key) ? pair.key.value : undefined;
    if (typeof key !== 'string') throw fail(line, 'option names must be strings');
    const spec = byName.get(key);
    if (!spec) {
      const alias = specs.find((s) => s.alias?.key === key);
      const near = alias ? ` (${alias.alias!.hint})` : '';
      throw fail(line, `unknown key "${key}"${near}; the keys are the long options of --help`);
    }
    const node = pair.value;
    const value = isSeq(node) || isMap(node) ? (node as { toJSON(): unknown }).toJSON() : isScalar(node) ? node.value : null;
    out.set(key, { value, line: lineOf(node) || line });
  }
  return out;
}

/**
 * Resolves a command's options from its flags (`argv`), the environment and the config file
 * (`--config FILE` or `MERIDIAN_CONFIG`), in that order of precedence, then the defaults. Throws
 * MRD_ERR_CLI_USAGE for a bad flag or value, MRD_ERR_CONFIG_FILE for a bad config file.
 */
export function resolveOptions(
  specs: readonly OptionSpec[],
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  how: CommandArgs = {},
): ResolvedOptions {
  const { positionals: allowPositionals = false, config: takesConfig = true, cwd = process.cwd() } = how;
  const flagSpecs: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
    ...(takesConfig ? { config: { type: 'string' } } : {}),
  };
  for (const s of specs) flagSpecs[s.name] = { type: s.type === 'boolean' ? 'boolean' : 'string', ...(s.short ? { short: s.short } : {}) };
  let flags: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    const parsed = parseArgs({ args: [...argv], options: flagSpecs, strict: true, allowPositionals });
    flags = parsed.values as Record<string, string | boolean | undefined>;
    positionals = parsed.positionals;
  } catch (err) {
    throw usage((err as Error).message.split('. To specify a positional')[0]!);
  }
  const envOf = (name: string | null): string | undefined => {
    const v = name === null ? undefined : env[name];
    return v === undefined || v === '' ? undefined : v;
  };
  const configRaw = takesConfig ? ((flags['config'] as string | undefined) ?? envOf(CONFIG_OPTION.env)) : undefined;
  const configFile = configRaw === undefined ? undefined : path.resolve(cwd, configRaw);
  const file = configFile && !flags['help'] ? readConfigFile(configFile, specs) : new Map<string, FileEntry>();
  const values: Record<string, OptionValue | undefined> = {};
  const sources: Record<string, OptionSource> = {};
  for (const s of specs) {
    const flag = flags[s.name];
    const fromEnv = envOf(s.env);
    const fromFile = file.get(s.name);
    if (flag !== undefined) {
      values[s.name] = convert(s, flag, `--${s.name}`, cwd, false);
      sources[s.name] = 'flag';
    } else if (fromEnv !== undefined) {
      values[s.name] = convert(s, fromEnv, s.env!, cwd, false);
      sources[s.name] = 'env';
    } else if (fromFile !== undefined && fromFile.value !== null) {
      values[s.name] = convert(s, fromFile.value, `${configFile}:${fromFile.line}: ${s.name}`, path.dirname(configFile!), true);
      sources[s.name] = 'file';
    } else {
      values[s.name] =
        s.default === undefined
          ? undefined
          : convert(
              s,
              s.type === 'integer' || s.type === 'boolean' ? s.default : String(s.default),
              `default of --${s.name}`,
              cwd,
              s.type === 'integer' || s.type === 'boolean',
            );
      sources[s.name] = 'default';
    }
  }
  return { values, sources, configFile, help: flags['help'] === true, positionals };
}

/**
 * Runs `parse` on a value and, when it throws a MeridianError, says which source it came from:
 * validators such as parseNotifyTargets name the flag, and the operator may have used a variable.
 */
export function withSource<T>(r: ResolvedOptions, spec: OptionSpec, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    const src = r.sources[spec.name];
    if (!(err instanceof MeridianError) || src === 'flag' || src === undefined) throw err;
    const where = src === 'env' ? spec.env : src === 'file' ? `${r.configFile}: ${spec.name}` : `default of --${spec.name}`;
    throw createError('MRD_ERR_CLI_USAGE', `${where}: ${err.message}`);
  }
}

/** The options part of `--help`: one entry per option, wrapped at 100 columns, with its default. */
export function renderOptionsHelp(specs: readonly OptionSpec[]): string {
  const out: string[] = [];
  let group: string | undefined;
  for (const s of specs) {
    if (s.group !== group) {
      group = s.group;
      if (group) out.push('', `${group}:`);
    }
    const head = `  ${s.short ? `-${s.short}, ` : ''}--${s.name}${s.arg ? ` ${s.arg}` : ''}`;
    const def = s.default === undefined || s.type === 'boolean' ? '' : `; default ${String(s.default)}`;
    const lines = `${s.help}${def}`.split('\n');
    const pad = ' '.repeat(25);
    const first = head.length < 24 ? head.padEnd(25) : `${head}  `;
    const wrapped: string[] = [];
    for (const l of lines) wrapped.push(...wrap(l, 100 - 25));
    out.push(`${first}${wrapped[0]}`, ...wrapped.slice(1).map((w) => `${pad}${w}`));
  }
  return out.join('\n');
}

/**
 * A command's whole `--help`: `head` (usage and what it does), its options from the table with
 * `-h, --help` last, then `tail` (notes after the options), each part a paragraph.
 */
export function renderCommandHelp(head: string, specs: readonly OptionSpec[], tail?: string): string {
  const help = `${'  -h, --help'.padEnd(25)}show this help`;
  return `${head.trimEnd()}\n\nOptions:\n${renderOptionsHelp(specs)}\n${help}\n${tail ? `\n${tail.trimEnd()}\n` : ''}`;
}

function wrap(text: string, width: number): string[] {
  const words = text.split(' ');
  const lines: string[] = [];
  let cur = '';
  for (const w of words) {
    if (cur && cur.length + 1 + w.length > width) {
      lines.push(cur);
      cur = w;
    } else cur = cur ? `${cur} ${w}` : w;
  }
  lines.push(cur);
  return lines;
}
