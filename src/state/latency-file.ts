/**
 * @module state/latency-file
 * A latency table kept in its own file (`meridian serve --latency FILE`), replaceable at run
 * time: the file is watched and re-read when it changes; a file that fails validation never
 * replaces the table in force (the error is logged with file and line). Zones that carry their
 * own `latency:` rows use those; every other latency policy uses this table.
 *
 * The file is YAML (or JSON): a list of rows `{ from: CIDR | country, rtt_ms: { region: ms } }`,
 * or a map with that list under `latency:`. Measurement pipelines write it atomically (temp file
 * and rename) and Meridian picks it up within a second or two, or at once on SIGHUP.
 */
import fs from 'node:fs';
import { Type } from '@sinclair/typebox';
import { LineCounter, parseDocument, isMap, isSeq, type Node as YamlNode } from 'yaml';
import { LatencyRowEntry } from '../policy/schema.js';
import { formatPath, validateAgainst } from '../validation/validate.js';
import { LatencyTable, LatencyTableError } from '../policy/latency-table.js';
import type { GeoDatabase } from '../policy/geoip.js';
import type { Logger } from '../log.js';

const LatencyFileSchema = Type.Array(LatencyRowEntry);

/** A mutable box that every snapshot shares: run-time state that is not zone data. */
export interface LiveTables {
  latency: LatencyTable | null;
  /** The `--geoip-db` file's database (state/geoip-file.ts); null: the embedded geoip-lite. */
  geo: GeoDatabase | null;
}

/** Parses a latency file; throws `file:line: reason` for the first problem. */
export function parseLatencyFile(text: string, file: string): LatencyTable {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const at = (node: unknown): number => {
    const r = (node as YamlNode | null)?.range;
    return r ? lines.linePos(r[0]).line : 0;
  };
  if (doc.errors.length > 0) throw new Error(`${file}:${lines.linePos(doc.errors[0]!.pos[0]).line}: ${doc.errors[0]!.message.split('\n')[0]}`);
  let rowsNode: unknown = doc.contents;
  let data = doc.toJS() as unknown;
  if (isMap(rowsNode) && data && typeof data === 'object' && !Array.isArray(data) && 'latency' in data) {
    rowsNode = rowsNode.get('latency', true);
    data = (data as { latency: unknown }).latency;
  }
  const rowLine = (i: number): number => (isSeq(rowsNode) ? at(rowsNode.items[i]) : at(rowsNode));
  const problems = validateAgainst(LatencyFileSchema, data);
  if (problems.length > 0) {
    const p = problems[0]!;
    const i = typeof p.path[0] === 'number' ? p.path[0] : -1;
    throw new Error(`${file}:${i >= 0 ? rowLine(i) : at(rowsNode)}: ${p.message || formatPath(p.path)}`);
  }
  const rows = data as { from: string; rtt_ms: Record<string, number> }[];
  try {
    return new LatencyTable(rows.map((r) => ({ from: r.from, rtt: r.rtt_ms })));
  } catch (err) {
    const row = err instanceof LatencyTableError ? err.row : -1;
    throw new Error(`${file}:${row >= 0 ? rowLine(row) : 0}: ${(err as Error).message}`);
  }
}

/** Loads the file now (throwing if it is bad), then keeps `live.latency` in step with it. */
export class LatencyFile {
  readonly #file: string;
  readonly #live: LiveTables;
  readonly #log: Logger;
  #last = '';

  constructor(file: string, live: LiveTables, log: Logger) {
    this.#file = file;
    this.#live = live;
    this.#log = log;
    this.#load(true);
    fs.watchFile(file, { interval: 1000 }, () => this.#load(false));
  }

  #load(first: boolean): void {
    try {
      this.#read();
    } catch (err) {
      if (first) throw err;
      this.#log.error({ file: this.#file, err: (err as Error).message }, 'latency table rejected; keeping the one in force');
    }
  }

  /**
   * Re-reads the file now (SIGHUP): `changed` when a new table is in force, `unchanged` when the
   * text is the one in force. Throws (keeping the table in force) when the file is unreadable or bad.
   */
  reload(): 'changed' | 'unchanged' {
    return this.#read() ? 'changed' : 'unchanged';
  }

  /** Reads and installs the file; false when its text is the one in force. Throws `file[:line]: reason`. */
  #read(): boolean {
    let text: string;
    try {
      text = fs.readFileSync(this.#file, 'utf8');
    } catch (err) {
      throw new Error(`${this.#file}: ${(err as Error).message}`);
    }
    if (text === this.#last) return false;
    const table = parseLatencyFile(text, this.#file);
    this.#live.latency = table;
    this.#last = text;
    this.#log.info({ file: this.#file, rows: table.rows.length }, 'latency table loaded');
    return true;
  }

  close(): void {
    fs.unwatchFile(this.#file);
  }
}
