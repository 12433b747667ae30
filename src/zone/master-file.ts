/**
 * @module zone/master-file
 * Parses RFC 1035 §5.1 master files ("zone files") into {@link ParsedZone} records, accepting
 * what BIND and NSD accept so that operators can migrate their files unchanged: `$ORIGIN`,
 * `$TTL` (RFC 2308 §4), `@`, relative names, a blank owner meaning the previous owner,
 * parentheses spanning lines, `;` comments anywhere outside quotes, quoted strings with escapes,
 * TTL and class in either order (class optional), TTLs in BIND's unit form (`1h30m`, `2w`), and
 * RFC 3597 `TYPEnnn` / `\#` for types without a presentation format.
 *
 * Not accepted: classes other than IN (MRD_ERR_ZONE_CLASS), `$INCLUDE` and `$GENERATE`
 * (MRD_ERR_ZONE_INCLUDE; Meridian reads exactly one file per zone).
 *
 * Called by zone/load.ts. Record data goes through proto/rdata.ts. Checks across records (SOA
 * count, CNAME conflicts, glue) are zone/zone.ts's job, shared with the YAML format, not done
 * here. Every problem is collected, each at the line where its record starts.
 */
import { isAtOrBelow, presentationToKey } from '../proto/name.js';
import { RRType, typeFromName, typeToName } from '../proto/types.js';
import { zoneError, zoneErrorOf, type CodedArgs, type ErrorArgs, type ErrorCode, type ZoneError } from '../errors.js';
import { MAX_TTL, parseTtlUnits } from '../proto/duration.js';
import { MASTER_FILE_LINE, scanPresentation, type PresentationToken } from '../proto/presentation.js';
import { parseRdata, rdataTokens, soaFields } from '../proto/rdata.js';
import type { ParsedZone, ZoneRecord } from './record.js';

/** Options for {@link parseMasterFile}. */
export interface MasterFileOptions {
  /** The file name, used in every error position. */
  file: string;
  /**
   * The zone origin as a key. When absent, the first `$ORIGIN` sets it (zone/load.ts passes the
   * origin derived from the file name unless `$ORIGIN` comes before the first record).
   */
  origin?: string;
  /**
   * The TTL for a first record that has no TTL when no `$TTL` precedes it and it is not the SOA
   * (see {@link parseMasterFile}). Without it such a record is an MRD_ERR_ZONE_TTL error.
   */
  defaultTtlSeconds?: number;
}

/** One logical line: a record or directive, possibly spread over several lines by parentheses. */
interface Entry {
  /** 1-based line where it starts. */
  line: number;
  /** The first line starts with whitespace, so the owner is omitted (RFC 1035 §5.1). */
  indented: boolean;
  tokens: PresentationToken[];
  /** Its source lines without comments, trimmed and joined with a space. */
  parts: string[];
  /** A lexical problem (unclosed quote or parenthesis); the entry is not parsed further. */
  broken?: string;
}

const isBlank = (c: string): boolean => MASTER_FILE_LINE.blanks.includes(c);

/**
 * Splits master-file text into entries (RFC 1035 §5.1): each line goes through the shared
 * tokenizer (proto/presentation.ts), and parentheses join lines into one entry. Quotes are
 * removed from quoted tokens; backslash escapes are kept for proto/rdata.ts and proto/name.ts.
 */
function lex(text: string, file: string, errors: ZoneError[]): Entry[] {
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  const entries: Entry[] = [];
  let cur: Entry | null = null;
  let depth = 0;
  const finish = (): void => {
    if (cur && (cur.tokens.length > 0 || cur.broken)) entries.push(cur);
    cur = null;
    depth = 0;
  };

  for (let ln = 0; ln < lines.length; ln++) {
    const src = lines[ln]!.replace(/\r$/, '');
    const lineNo = ln + 1;
    const start = (): Entry => {
      cur ??= { line: lineNo, indented: src.length > 0 && isBlank(src[0]!), tokens: [], parts: [] };
      return cur;
    };
    const { items, contentEnd, unclosedQuote } = scanPresentation(src, MASTER_FILE_LINE);
    for (const item of items) {
      if (item.kind === '(') {
        start();
        depth++;
      } else if (item.kind === ')') {
        if (depth === 0) {
          errors.push(zoneError('MRD_ERR_ZONE_SYNTAX', { file, line: lineNo }, ['")" without a matching "("'], src.trim()));
          start().broken = '")" without a matching "("';
        } else {
          depth--;
        }
      } else {
        start().tokens.push({ text: item.text, quoted: item.quoted });
      }
    }
    const content = src.slice(0, contentEnd).trim();
    if (cur && content !== '') (cur as Entry).parts.push(content);
    if (unclosedQuote) {
      // Quoted strings end on their own line (as in BIND); report it and resynchronise here.
      const e = start();
      e.broken = 'unclosed quote';
      errors.push(zoneError('MRD_ERR_ZONE_SYNTAX', { file, line: e.line }, ['unclosed quote'], e.parts.join(' ')));
      finish();
    } else if (depth === 0) {
      finish();
    }
  }
  if (cur) {
    const e: Entry = cur;
    e.broken = 'unclosed parenthesis';
    errors.push(zoneError('MRD_ERR_ZONE_SYNTAX', { file, line: e.line }, ['unclosed parenthesis: "(" is never closed by ")"'], e.parts.join(' ')));
    finish();
  }
  return entries;
}

/** Thrown inside the per-entry parser to report one problem and move on to the next entry. */
class EntryProblem<C extends ErrorCode> {
  readonly problem: CodedArgs;
  constructor(code: C, args: ErrorArgs<C>) {
    this.problem = { code, args } as CodedArgs;
  }
}

const CLASS_RE = /^(IN|CH|CS|HS|NONE|ANY|CLASS[0-9]+)$/i;

function ttlValue(text: string, what: string): number {
  const n = parseTtlUnits(text);
  if (n === undefined) throw new EntryProblem('MRD_ERR_ZONE_TTL', [`${what} "${text}" is not a number of seconds or a form such as 1h30m`]);
  // RFC 2181 §8: a TTL is an unsigned 31-bit value; BIND and NSD reject larger ones in zone files.
  if (n > MAX_TTL) throw new EntryProblem('MRD_ERR_ZONE_TTL', [`${what} ${text} is over ${MAX_TTL} (RFC 2181 §8)`]);
  return n;
}

function nameKey(text: string, origin: string | null, what: string): string {
  try {
    return presentationToKey(text, origin);
  } catch (err) {
    throw new EntryProblem('MRD_ERR_ZONE_NAME', [`${what}: ${(err as Error).message}`]);
  }
}

/**
 * Parses an RFC 1035 §5.1 master file. Returns every record it could parse and every problem it
 * found (a zone with problems must not be loaded); never throws for bad input.
 *
 * TTLs, in order of precedence: the record's own TTL; the last `$TTL` (RFC 2308 §4); the TTL of
 * the previous record (RFC 1035 §5.1, "the last explicitly stated value"). For the first record
 * with none of these, we follow BIND: an SOA takes its own MINIMUM field (BIND logs "no TTL
 * specified; using SOA MINTTL instead"), and any other record takes `opts.defaultTtlSeconds`, or
 * is an MRD_ERR_ZONE_TTL error when that is not given.
 *
 * `$ORIGIN` changes the origin used for relative names and `@` from that point on; the zone
 * origin (`ParsedZone.origin`) is `opts.origin` or else the first `$ORIGIN`. Owners must be at or
 * below the zone origin (MRD_ERR_ZONE_OUT_OF_ZONE).
 */
export function parseMasterFile(text: string, opts: MasterFileOptions): ParsedZone {
  const { file } = opts;
  const errors: ZoneError[] = [];
  const records: ZoneRecord[] = [];
  let zoneOrigin: string | null = opts.origin ?? null;
  let origin: string | null = zoneOrigin;
  let dollarTtl: number | null = null;
  let lastTtl: number | null = null;
  let lastOwner: string | null = null;

  for (const entry of lex(text, file, errors)) {
    if (entry.broken) continue;
    const at = { file, line: entry.line };
    const recordText = entry.parts.join(' ');
    const tokens = entry.tokens;
    try {
      const first = tokens[0]!;
      if (!entry.indented && !first.quoted && first.text.startsWith('$')) {
        const directive = first.text.toUpperCase();
        const args = tokens.slice(1).map((t) => t.text);
        if (directive === '$ORIGIN') {
          if (args.length !== 1) throw new EntryProblem('MRD_ERR_ZONE_SYNTAX', ['$ORIGIN takes exactly one name']);
          origin = nameKey(args[0]!, origin, '$ORIGIN');
          zoneOrigin ??= origin;
        } else if (directive === '$TTL') {
          if (args.length !== 1) throw new EntryProblem('MRD_ERR_ZONE_SYNTAX', ['$TTL takes exactly one TTL']);
          dollarTtl = ttlValue(args[0]!, '$TTL');
        } else if (directive === '$INCLUDE') {
          throw new EntryProblem('MRD_ERR_ZONE_INCLUDE', [
            `Meridian reads one file per zone; copy the records of ${args[0] ?? 'the included file'} into this file`,
          ]);
        } else if (directive === '$GENERATE') {
          throw new EntryProblem('MRD_ERR_ZONE_INCLUDE', [
            'neither is $GENERATE; write out the records it would generate (named-compilezone -D -o - prints them)',
          ]);
        } else {
          throw new EntryProblem('MRD_ERR_ZONE_SYNTAX', [`unknown directive ${first.text}`]);
        }
        continue;
      }

      let k = 0;
      let owner: string;
      if (entry.indented) {
        if (lastOwner === null) throw new EntryProblem('MRD_ERR_ZONE_SYNTAX', ['the line starts with a blank, but there is no previous owner to repeat']);
        owner = lastOwner;
      } else {
        owner = nameKey(tokens[k++]!.text, origin, 'owner');
        lastOwner = owner;
      }
      if (zoneOrigin === null) throw new EntryProblem('MRD_ERR_ZONE_SYNTAX', ['no origin: put $ORIGIN before the first record']);
      if (!isAtOrBelow(owner, zoneOrigin)) throw new EntryProblem('MRD_ERR_ZONE_OUT_OF_ZONE', [owner, zoneOrigin]);

      // [<TTL>] [<class>] or [<class>] [<TTL>], then <type> (RFC 1035 §5.1).
      let ttl: number | null = null;
      let classSeen = false;
      for (let n = 0; n < 2; n++) {
        const t = tokens[k];
        if (!t || t.quoted) break;
        if (!classSeen && CLASS_RE.test(t.text)) {
          const upper = t.text.toUpperCase();
          if (upper !== 'IN' && upper !== 'CLASS1') throw new EntryProblem('MRD_ERR_ZONE_CLASS', [t.text]);
          classSeen = true;
          k++;
        } else if (ttl === null && /^[0-9]/.test(t.text)) {
          ttl = ttlValue(t.text, 'TTL');
          k++;
        } else {
          break;
        }
      }
      const typeTok = tokens[k++];
      if (!typeTok) throw new EntryProblem('MRD_ERR_ZONE_SYNTAX', ['missing record type']);
      const type = typeFromName(typeTok.text);
      if (type === undefined || typeTok.quoted) throw new EntryProblem('MRD_ERR_ZONE_TYPE', [typeTok.text]);

      let rdata: Buffer;
      try {
        rdata = parseRdata(type, rdataTokens(tokens.slice(k)), origin ?? zoneOrigin);
      } catch (err) {
        throw new EntryProblem('MRD_ERR_ZONE_RDATA', [typeToName(type), (err as Error).message]);
      }

      if (ttl === null) ttl = dollarTtl ?? lastTtl;
      if (ttl === null) {
        if (type === RRType.SOA) {
          const minimum = soaFields(rdata).minimum;
          if (minimum > MAX_TTL) throw new EntryProblem('MRD_ERR_ZONE_TTL', [`SOA MINIMUM ${minimum}, used as the TTL, is over ${MAX_TTL} (RFC 2181 §8)`]);
          ttl = minimum;
        } else if (opts.defaultTtlSeconds !== undefined) {
          ttl = opts.defaultTtlSeconds;
        } else {
          throw new EntryProblem('MRD_ERR_ZONE_TTL', ['the record has no TTL, and no $TTL or earlier record gives one']);
        }
      }
      lastTtl = ttl;
      records.push({ owner, type, ttlSeconds: ttl, rdata, at, text: recordText });
    } catch (err) {
      if (!(err instanceof EntryProblem)) throw err;
      errors.push(zoneErrorOf(err.problem, at, recordText));
    }
  }

  if (zoneOrigin === null && errors.length === 0) {
    errors.push(zoneError('MRD_ERR_ZONE_SYNTAX', { file, line: 0 }, ['no origin: the file has no $ORIGIN and none was given']));
  }
  return { origin: zoneOrigin ?? '', records, errors, file };
}
