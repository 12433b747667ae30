/**
 * @module zone/load
 * Turns one zone file's text into a built zone or its problems, whichever format it is in:
 * `*.zone` (RFC 1035 master file) or `*.yaml` / `*.yml` (Meridian's format). Used by
 * state/file-source.ts for serving and reloading, and by `meridian check`. A zone built here
 * remembers the text and file name it came from ({@link zoneInput}): building them again gives
 * the same zone, which is how a node's DNS workers get their zones (state/replica.ts).
 */
import path from 'node:path';
import { zoneError, type ZoneError } from '../errors.js';
import { presentationToKey, type NameError } from '../proto/name.js';
import { parseMasterFile } from './master-file.js';
import { loadYamlZone } from './yaml-zone.js';
import { buildZone, type BuildResult, type Zone } from './zone.js';
import type { ParsedZone } from './record.js';

/** The zone file formats, by file name; null for files that are not zones. */
export function zoneFileKind(fileName: string): 'master' | 'yaml' | null {
  if (fileName.startsWith('.')) return null;
  if (fileName.endsWith('.zone')) return 'master';
  if (fileName.endsWith('.yaml') || fileName.endsWith('.yml')) return 'yaml';
  return null;
}

/**
 * The origin a master file gets when it does not set one with `$ORIGIN` before its first record:
 * its name without `.zone` (`example.org.zone` → `example.org`), as a BIND `zone` statement would
 * name it.
 */
function originFromFileName(file: string): string {
  return presentationToKey(path.basename(file).replace(/\.zone$/, '') + '.', null);
}

/** True when a `$ORIGIN` line comes before any record (only comments, blanks and `$TTL` before it). */
function setsOriginFirst(text: string): boolean {
  for (const raw of text.split('\n')) {
    const line = raw.replace(/;.*$/, '').trim();
    if (line === '') continue;
    if (/^\$ORIGIN\s/i.test(line)) return true;
    if (/^\$TTL\s/i.test(line)) continue;
    return false;
  }
  return false;
}

/** Parses a zone file's text into records (no cross-record checks). */
export function parseZoneText(text: string, file: string): ParsedZone {
  if (zoneFileKind(path.basename(file)) === 'yaml') return loadYamlZone(text, file);
  if (setsOriginFirst(text)) return parseMasterFile(text, { file });
  let origin: string;
  try {
    origin = originFromFileName(file);
  } catch (err) {
    const e: ZoneError = zoneError('MRD_ERR_ZONE_NAME', { file, line: 0 }, [
      `the file name gives no valid origin and no $ORIGIN comes first (${(err as NameError).message})`,
    ]);
    return { origin: '', records: [], errors: [e], file };
  }
  return parseMasterFile(text, { file, origin });
}

const inputs = new WeakMap<Zone, ZoneInput>();

/** What a zone was built from: its text and the file name it was loaded as. */
export interface ZoneInput {
  readonly text: string;
  readonly file: string;
}

/** Parses and builds one zone file's text. */
export function loadZoneText(text: string, file: string): BuildResult {
  const result = buildZone(parseZoneText(text, file));
  if (result.ok) inputs.set(result.zone, { text, file });
  return result;
}

/** The text and file name `zone` was built from by {@link loadZoneText}; undefined for a zone built otherwise. */
export function zoneInput(zone: Zone): ZoneInput | undefined {
  return inputs.get(zone);
}
