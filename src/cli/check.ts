/**
 * @module cli/check
 * `meridian check`: validates zone files, given as files and directories in any mix (a directory
 * stands for its *.zone, *.yaml and *.yml files; none given: ./zones, or --zones DIR), and prints
 * `file:line: message` for each problem; exits 1 when there is any, including when no zone file is
 * found at all, 0 otherwise. `--json` prints one machine-readable document instead. Uses the same
 * loader as `serve`.
 */
import type fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { checkZoneFiles } from '../state/file-source.js';
import { zoneError, type ZoneError } from '../errors.js';
import { keyToPresentation } from '../proto/name.js';
import { zoneFileKind } from '../zone/load.js';
import { embeddedSource, setEmbeddedPreload, type GeoSource } from '../policy/geoip.js';
import { loadGeoipFile } from '../state/geoip-file.js';
import { flag, renderCommandHelp, resolveOptions } from './options.js';

/** The options of `meridian check` (none read from the environment, no config file). */
export const CHECK_OPTIONS = [
  // No default in the table: ./zones stands in only when no FILE or DIR is given either.
  flag({ name: 'zones', type: 'string', arg: 'DIR', help: 'a zones directory to check (as a DIR argument); default ./zones' }),
  flag({
    name: 'geoip-db',
    type: 'string',
    arg: 'FILE',
    help: 'also check this MaxMind DB file, as serve --geoip-db would load it, and say it is the database geo and latency policies locate clients with',
  }),
  flag({ name: 'quiet', short: 'q', type: 'boolean', help: 'print problems only' }),
  flag({
    name: 'json',
    type: 'boolean',
    help: 'print {ok, files, zones, problems} as JSON on stdout instead (problems with file and line); the exit status is the same',
  }),
];

export const CHECK_HELP = renderCommandHelp(
  `Usage: meridian check [options] [FILE|DIR ...]

Validate zone files without serving them: each FILE, and every zone file (*.zone, *.yaml, *.yml)
in each DIR; with none given, the directory of --zones (default ./zones). Prints "file:line:
message" for each problem and exits 1 if there is any, or if no zone file is found.`,
  CHECK_OPTIONS,
);

/** One problem in `--json` output. */
export interface CheckProblem {
  readonly file: string;
  /** 1-based, or 0 when the problem concerns the whole file (or directory). */
  readonly line: number;
  readonly code: string;
  readonly message: string;
  readonly record?: string;
}

/** The files the arguments stand for, and problems with the arguments themselves. */
async function expand(paths: readonly string[]): Promise<{ files: string[]; problems: ZoneError[] }> {
  const files: string[] = [];
  const problems: ZoneError[] = [];
  for (const p of paths) {
    const abs = path.resolve(p);
    let stat: fs.Stats;
    try {
      stat = await fsp.stat(abs);
    } catch (err) {
      problems.push(
        zoneError('MRD_ERR_ZONE_READ', { file: abs, line: 0 }, [
          (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message,
        ]),
      );
      continue;
    }
    if (!stat.isDirectory()) {
      files.push(abs);
      continue;
    }
    const names = (await fsp.readdir(abs)).filter((n) => zoneFileKind(n) !== null).sort();
    if (names.length === 0) problems.push(zoneError('MRD_ERR_CHECK_NO_ZONES', { file: abs, line: 0 }, [abs]));
    files.push(...names.map((n) => path.join(abs, n)));
  }
  return { files: [...new Set(files)], problems };
}

/** `FILE (GeoIP2-City, built 2026-11-23T10:52:59.000Z)` or `geoip-lite 1.4.10 (embedded)`. */
export function describeGeo(g: GeoSource): string {
  return g.kind === 'embedded' ? `${g.name} (embedded)` : `${g.name} (${g.type}${g.builtAt ? `, built ${g.builtAt}` : ''})`;
}

export async function checkCommand(argv: string[]): Promise<number> {
  const r = resolveOptions(CHECK_OPTIONS, argv, process.env, { positionals: true, config: false });
  if (r.help) {
    process.stdout.write(CHECK_HELP);
    return 0;
  }
  const values = {
    zones: r.values['zones'] as string | undefined,
    geoipDb: r.values['geoip-db'] as string | undefined,
    quiet: r.values['quiet'] === true,
    json: r.values['json'] === true,
  };
  const paths = [...(values.zones !== undefined ? [values.zones] : []), ...r.positionals];
  if (paths.length === 0) paths.push('./zones');
  // Zones that locate clients would use the file: geoip-lite's 190 MB need not be read.
  if (values.geoipDb !== undefined) setEmbeddedPreload(false);
  const { files, problems } = await expand(paths);
  const result = await checkZoneFiles(files);
  const errors = [...problems, ...result.errors];
  // The database that would answer: the file (checked as serve loads it), else the embedded one.
  let geo: GeoSource | null = embeddedSource();
  if (values.geoipDb !== undefined) {
    try {
      geo = loadGeoipFile(path.resolve(values.geoipDb)).source;
    } catch (err) {
      geo = null;
      errors.push(zoneError('MRD_ERR_GEOIP_DB', { file: path.resolve(values.geoipDb), line: 0 }, [(err as Error).message]));
    }
  }
  if (files.length === 0 && problems.length === 0)
    errors.push(zoneError('MRD_ERR_CHECK_NO_ZONES', { file: paths.map((p) => path.resolve(p)).join(', '), line: 0 }, [paths.join(', ')]));
  const ok = errors.length === 0;
  if (values.json) {
    const doc = {
      ok,
      files,
      zones: result.zones.map((z) => ({ zone: keyToPresentation(z.origin), serial: z.serial, records: z.recordCount, file: z.file })),
      geoip: geo && { kind: geo.kind, name: geo.name, type: geo.type, built_at: geo.builtAt },
      problems: errors.map((e): CheckProblem => ({ file: e.file, line: e.line, code: e.code, message: e.message, ...(e.record ? { record: e.record } : {}) })),
    };
    process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    return ok ? 0 : 1;
  }
  for (const e of errors) process.stderr.write(`${e.format()}\n`);
  if (!values.quiet) {
    for (const z of result.zones) process.stdout.write(`ok ${keyToPresentation(z.origin)} serial ${z.serial}, ${z.recordCount} records (${z.file})\n`);
    // Only when asked: the plain output stays one line per zone.
    if (geo && values.geoipDb !== undefined) process.stdout.write(`geoip: ${describeGeo(geo)}\n`);
  }
  return ok ? 0 : 1;
}
