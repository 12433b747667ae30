/**
 * @module zone/yaml-zone
 * Meridian's own zone format: one YAML document per zone (`*.yaml` / `*.yml` in the zones
 * directory), turned into the same {@link ParsedZone} the RFC 1035 master-file parser produces.
 *
 * This module owns the YAML side: parsing with line numbers, checking the document against the
 * TypeBox schema in model/zone-schema.ts, pointing every problem at the line it is on, and
 * building records (SOA and NS at the apex from `soa` / `ns`, the rest from `records`). RDATA
 * text goes through proto/rdata.ts, exactly as a master file's would. Checks that span records
 * (CNAME conflicts, glue, a second SOA) are zone/zone.ts's, for both formats.
 *
 * Called by zone/load.ts for `*.yaml` files (serving, reloading and `meridian check`).
 */
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Document, type Node as YamlNode, type Pair, type YAMLError } from 'yaml';
import { zoneError, zoneErrorOf, type ErrorArgs, type ErrorCode, type ZoneError } from '../errors.js';
import { NameError, isAtOrBelow, presentationToKey } from '../proto/name.js';
import { RRType, typeFromName, typeToName } from '../proto/types.js';
import { validateZoneDocument, type RecordEntry, type ZoneDocument } from '../model/zone-schema.js';
import { formatPath, type PathSegment, type SchemaProblem } from '../validation/validate.js';
import { MAX_TTL, MAX_U32, TTL_DURATION, durationValue } from '../proto/duration.js';
import { parseRdataText } from '../proto/rdata.js';
import { buildAcl } from './zone.js';
import type { ParsedZone, ZoneDnssec, ZoneRecord } from './record.js';
import { DnssecAlgorithm } from '../proto/dnssec.js';
import { compilePolicies, type CompiledPolicies } from '../policy/compile.js';

/** The TTL of records when the zone sets no `ttl`. */
export const DEFAULT_YAML_TTL = 3600;

/** Seconds in a Duration value that passed the schema: an integer, or text in BIND units. */
function durationSeconds(value: string | number): number {
  const n = durationValue(TTL_DURATION, value);
  if (n === undefined) throw new Error(`"${value}" is not a duration (seconds, or units such as 30s, 10m, 1h, 1d, 2w, 1h30m)`);
  return n;
}

/** Characters that would split or end an RDATA token, so they may not appear raw in a name. */
const TOKEN_BREAKERS = /[\s;()"]/;

/** The state of one load: the document, its lines, and the problems found so far. */
class YamlZoneLoader {
  readonly errors: ZoneError[] = [];
  readonly records: ZoneRecord[] = [];
  private readonly lines = new LineCounter();
  private doc!: Document.Parsed;
  /** Paths (formatted) at or under which the schema already reported a problem. */
  private readonly badPaths: string[] = [];

  constructor(
    private readonly text: string,
    private readonly file: string,
  ) {}

  load(): ParsedZone {
    this.doc = parseDocument(this.text, { lineCounter: this.lines, prettyErrors: false, uniqueKeys: true });
    if (this.doc.errors.length > 0) {
      for (const e of this.doc.errors) this.fail('MRD_ERR_ZONE_SYNTAX', this.lineAt(e.pos[0]), [this.syntaxReason(e)]);
      return this.result('');
    }
    let data: unknown;
    try {
      data = this.doc.toJS();
    } catch (err) {
      // Only aliases can make this throw (too many of them: a "billion laughs" document).
      this.fail('MRD_ERR_ZONE_SYNTAX', 0, [(err as Error).message]);
      return this.result('');
    }
    if (data === null || typeof data !== 'object' || Array.isArray(data)) {
      this.fail('MRD_ERR_ZONE_SCHEMA', data == null ? 0 : this.nodeLine(this.doc.contents), [
        'a YAML zone file must be a map with at least "zone", "soa" and "ns"',
      ]);
      return this.result('');
    }
    for (const p of validateZoneDocument(data)) this.reportSchemaProblem(p);
    return this.build(data as Partial<ZoneDocument>);
  }

  // ---- building records ------------------------------------------------------------------

  private build(doc: Partial<ZoneDocument>): ParsedZone {
    if (typeof doc.zone !== 'string' || this.isBad(['zone'])) return this.result('');
    let origin: string;
    try {
      origin = presentationToKey(doc.zone.endsWith('.') ? doc.zone : doc.zone + '.', null);
    } catch (err) {
      this.fail('MRD_ERR_ZONE_NAME', this.lineOf(['zone']), [`zone: ${(err as Error).message}`]);
      return this.result('');
    }
    const zoneTtl = this.duration(['ttl'], doc.ttl, true) ?? DEFAULT_YAML_TTL;

    if (doc.soa && !this.isBad(['soa'])) this.buildSoa(doc.soa, origin, zoneTtl);
    if (Array.isArray(doc.ns)) {
      doc.ns.forEach((ns, i) => {
        const path = ['ns', i];
        if (this.isBad(path) || this.checkName(path, ns, origin) === undefined) return;
        this.addRecord(path, origin, RRType.NS, zoneTtl, ns, origin, `@ ${zoneTtl} IN NS ${ns}`);
      });
    }
    let transferAllow: string[] | undefined;
    if (doc.transfer?.allow && !this.isBad(['transfer'])) {
      let good = true;
      doc.transfer.allow.forEach((entry, i) => {
        try {
          buildAcl([entry]);
        } catch (err) {
          good = false;
          this.fail('MRD_ERR_ZONE_SCHEMA', this.lineOf(['transfer', 'allow', i]), [`transfer.allow[${i}]: ${(err as Error).message}`]);
        }
      });
      // A bad list is reported here, with its line; zone/zone.ts need not report it again.
      if (good) transferAllow = doc.transfer.allow;
    }
    if (Array.isArray(doc.records)) {
      doc.records.forEach((entry, i) => {
        if (!this.isBad(['records', i])) this.buildEntry(entry, i, origin, zoneTtl);
      });
    }
    const policies = this.buildPolicies(doc, origin);
    let dnssec: ZoneDnssec | undefined;
    if (doc.dnssec && !this.isBad(['dnssec'])) {
      const ttl = this.duration(['dnssec', 'dnskey_ttl'], doc.dnssec.dnskey_ttl, true);
      dnssec = {
        algorithm: doc.dnssec.algorithm === 'ed25519' ? DnssecAlgorithm.ED25519 : DnssecAlgorithm.ECDSAP256SHA256,
        dnskeyTtlSeconds: ttl ?? null,
      };
    }
    const parsed = this.result(origin, transferAllow, policies);
    if (dnssec) parsed.dnssec = dnssec;
    return parsed;
  }

  /** Regions, pools, policy records and latency rows (policy/compile.ts), when the zone has any. */
  private buildPolicies(doc: Partial<ZoneDocument>, origin: string): CompiledPolicies | undefined {
    if (!doc.regions && !doc.pools && !doc.policies && !doc.latency && !doc.checks) return undefined;
    const { compiled, problems } = compilePolicies(
      { regions: doc.regions, pools: doc.pools, policies: doc.policies, latency: doc.latency, checks: doc.checks },
      { origin, file: this.file, lineOf: (path) => this.lineOf(path), isBad: (path) => this.isBad(path) },
    );
    for (const p of problems) this.errors.push(zoneErrorOf(p, { file: this.file, line: this.lineOf(p.path) }));
    return compiled;
  }

  private buildSoa(soa: ZoneDocument['soa'], origin: string, zoneTtl: number): void {
    const mname = this.checkName(['soa', 'mname'], soa.mname, origin);
    const rname = this.checkName(['soa', 'rname'], soa.rname, origin);
    const timers = (['refresh', 'retry', 'expire', 'minimum'] as const).map((f) => this.duration(['soa', f], soa[f], false));
    const ttl = this.duration(['soa', 'ttl'], soa.ttl, true) ?? zoneTtl;
    if (mname === undefined || rname === undefined || timers.some((t) => t === undefined)) return;
    const rdata = `${soa.mname} ${soa.rname} ${soa.serial} ${timers.join(' ')}`;
    this.addRecord(['soa'], origin, RRType.SOA, ttl, rdata, origin, `@ ${ttl} IN SOA ${rdata}`, true);
  }

  private buildEntry(entry: RecordEntry, i: number, origin: string, zoneTtl: number): void {
    const base: PathSegment[] = ['records', i];
    const owner = this.checkName([...base, 'name'], entry.name, origin);
    if (owner !== undefined && !isAtOrBelow(owner, origin)) {
      this.fail('MRD_ERR_ZONE_OUT_OF_ZONE', this.lineOf([...base, 'name']), [entry.name, origin]);
    }
    const type = typeFromName(entry.type.toUpperCase());
    if (type === undefined) this.fail('MRD_ERR_ZONE_TYPE', this.lineOf([...base, 'type']), [entry.type]);
    const ttl = entry.ttl === undefined ? zoneTtl : this.duration([...base, 'ttl'], entry.ttl, true);
    if (type === undefined) return;
    const typeName = typeToName(type);
    const values: [PathSegment[], string][] =
      entry.values !== undefined ? entry.values.map((v, j) => [[...base, 'values', j], v]) : [[[...base, 'value'], entry.value ?? '']];
    for (const [path, value] of values) {
      const ok = owner !== undefined && isAtOrBelow(owner, origin) && ttl !== undefined;
      const text = `${entry.name} ${ttl ?? entry.ttl} IN ${typeName} ${value}`;
      this.addRecord(path, ok ? owner : undefined, type, ttl ?? 0, value, origin, text);
    }
  }

  /**
   * Parses one RDATA string and, when `owner` is known, adds the record; reports bad RDATA at the
   * value's line either way (so a record with a bad name still has its RDATA checked).
   */
  private addRecord(
    path: PathSegment[],
    owner: string | undefined,
    type: number,
    ttlSeconds: number,
    rdataText: string,
    origin: string,
    text: string,
    keyLine = false,
  ): void {
    const line = keyLine ? this.keyLineOf(path) : this.lineOf(path);
    let rdata: Buffer;
    try {
      rdata = parseRdataText(type, rdataText, origin);
    } catch (err) {
      this.fail('MRD_ERR_ZONE_RDATA', line, [typeToName(type), (err as Error).message], text);
      return;
    }
    if (owner === undefined) return;
    this.records.push({ owner, type, ttlSeconds, rdata, at: { file: this.file, line }, text });
  }

  /** The key of a presentation name, or undefined after reporting why it is not a name. */
  private checkName(path: PathSegment[], text: string, origin: string): string | undefined {
    try {
      if (TOKEN_BREAKERS.test(text)) throw new NameError(`name "${text}" contains a space, quote, parenthesis or semicolon (write it as \\DDD)`);
      return presentationToKey(text, origin);
    } catch (err) {
      if (!(err instanceof NameError)) throw err;
      this.fail('MRD_ERR_ZONE_NAME', this.lineOf(path), [`${formatPath(path)}: ${err.message}`]);
      return undefined;
    }
  }

  /**
   * Seconds for a Duration field that passed the schema, or undefined when it is absent or was
   * found bad (reported here when the schema could not see it: a string over 2^31-1 seconds).
   */
  private duration(path: PathSegment[], value: string | number | undefined, isTtl: boolean): number | undefined {
    if (value === undefined || this.isBad(path)) return undefined;
    let seconds: number;
    try {
      seconds = durationSeconds(value);
    } catch (err) {
      this.fail('MRD_ERR_ZONE_SCHEMA', this.lineOf(path), [`${formatPath(path)}: ${(err as Error).message}`]);
      return undefined;
    }
    const max = isTtl ? MAX_TTL : MAX_U32;
    if (seconds > max) {
      const reason = `${formatPath(path)}: must be from 0 to ${max} seconds${isTtl ? ' (RFC 2181 §8)' : ''}, not ${value} (${seconds} seconds)`;
      this.fail(isTtl ? 'MRD_ERR_ZONE_TTL' : 'MRD_ERR_ZONE_SCHEMA', this.lineOf(path), [reason]);
      return undefined;
    }
    return seconds;
  }

  // ---- problems and lines ----------------------------------------------------------------

  /** yaml's message, reworded where an operator would not know what to do. */
  private syntaxReason(e: YAMLError): string {
    if (e.code === 'DUPLICATE_KEY') {
      const key = /^\s*("[^"]*"|'[^']*'|[^:\n]*?)\s*:/.exec(this.text.slice(e.pos[0]))?.[1];
      return `duplicate key${key ? ` ${key.startsWith('"') ? key : `"${key.replace(/^'|'$/g, '')}"`}` : ''} (a key may appear once in a map)`;
    }
    if (e.code === 'MULTIPLE_DOCS') return 'a zone file holds one YAML document; remove the "---" separator or split the file';
    return e.message.split('\n')[0]!;
  }

  private reportSchemaProblem(p: SchemaProblem): void {
    const line = p.kind === 'unknown' ? this.unknownKeyLine(p.path, p.key!) : p.kind === 'missing' ? this.keyLineOf(p.path) : this.lineOf(p.path);
    this.fail(p.ttlRange ? 'MRD_ERR_ZONE_TTL' : 'MRD_ERR_ZONE_SCHEMA', line, [p.message]);
    this.badPaths.push(formatPath(p.path));
  }

  /**
   * True when the schema reported a problem at `path`, inside it (including a field it lacks or
   * has too many of), or at an ancestor (a value of the wrong kind).
   */
  private isBad(path: PathSegment[]): boolean {
    const at = formatPath(path);
    return this.badPaths.some(
      (b) => b === at || b.startsWith(at + '.') || b.startsWith(at + '[') || (b !== '' && (at.startsWith(b + '.') || at.startsWith(b + '['))),
    );
  }

  private fail<C extends ErrorCode>(code: C, line: number, args: Readonly<ErrorArgs<C>>, record?: string): void {
    this.errors.push(zoneError(code, { file: this.file, line }, args, record));
  }

  private result(origin: string, transferAllow?: string[], policies?: CompiledPolicies): ParsedZone {
    // The records that were good go along with the problems, so that zone/zone.ts reports only
    // cross-record problems that are real (not "no SOA" because the SOA had a typo).
    // Schema problems are found before the rest; an operator reads them best in file order.
    this.errors.sort((a, b) => a.line - b.line);
    const zone: ParsedZone = { origin, records: this.records, errors: this.errors, file: this.file };
    if (transferAllow !== undefined) zone.transferAllow = transferAllow;
    if (policies !== undefined) zone.policies = policies;
    return zone;
  }

  private lineAt(offset: number): number {
    return this.lines.linePos(offset).line;
  }

  private nodeLine(node: unknown): number {
    const range = (node as YamlNode | null)?.range;
    return range ? this.lineAt(range[0]) : 0;
  }

  /** The YAML node at a path, or the nearest ancestor that exists, with the pair holding it. */
  private locate(path: readonly PathSegment[]): { node: unknown; pair: Pair | undefined } {
    let node: unknown = this.doc.contents;
    let pair: Pair | undefined;
    for (const seg of path) {
      if (isMap(node)) {
        const found = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(seg));
        if (!found) break;
        pair = found;
        node = found.value;
      } else if (isSeq(node) && typeof seg === 'number' && seg < node.items.length) {
        pair = undefined;
        node = node.items[seg];
      } else {
        break;
      }
    }
    return { node, pair };
  }

  /** Line of the value at `path`; for an empty value, the line of its key. */
  private lineOf(path: readonly PathSegment[]): number {
    const { node, pair } = this.locate(path);
    const empty = node == null || (isScalar(node) && node.value === null);
    if (empty && pair) return this.nodeLine(pair.key);
    return this.nodeLine(node);
  }

  /** Line of the key that holds the value at `path` (`soa:`); for a list item, its own line. */
  private keyLineOf(path: readonly PathSegment[]): number {
    const { node, pair } = this.locate(path);
    if (pair && pair.value === node && path.length > 0 && typeof path.at(-1) === 'string') return this.nodeLine(pair.key);
    return this.nodeLine(node);
  }

  private unknownKeyLine(path: readonly PathSegment[], key: string): number {
    const { node } = this.locate(path);
    if (isMap(node)) {
      const found = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === key);
      if (found) return this.nodeLine(found.key);
    }
    return this.nodeLine(node);
  }
}

/**
 * Parses one Meridian YAML zone file. Never throws for bad input: every problem found (YAML
 * syntax, schema, names, types, RDATA, TTLs) is in `errors`, each with its 1-based line;
 * `records` holds the records that were good. Cross-record rules are checked later by zone/zone.ts.
 * @param text the file's contents.
 * @param file the file's path, for error messages.
 */
export function loadYamlZone(text: string, file: string): ParsedZone {
  return new YamlZoneLoader(text, file).load();
}
