/**
 * @module state/audit
 * The audit log: one JSON line per change made through the admin API (who, when, what, and the
 * zone revision before and after). It is appended to `audit.log` in the state directory when
 * there is one, and the most recent entries are kept in memory for `GET /v1/audit`.
 * In a cluster every entry is also stored in etcd (cluster/audit.ts), and each node keeps the
 * entries of every node, so `GET /v1/audit` on any node shows every change, with the node that
 * took it.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface AuditEntry {
  readonly at: string;
  /** The token's name (`local` for the node's own write token, admin/local-token.ts). */
  readonly who: string;
  /** `zone.create`, `zone.replace`, `zone.delete`, `record.create`, `override.set`, ... */
  readonly action: string;
  /** What was changed: a zone, `zone/records/name/type`, an override target. */
  readonly target: string;
  /** ETag (revision) before and after; null when there was none. */
  readonly before: string | null;
  readonly after: string | null;
  readonly detail?: unknown;
  /** In a cluster: the node that took the change. */
  readonly node?: string;
}

export class AuditLog {
  readonly #file: string | null;
  readonly #recent: AuditEntry[] = [];
  readonly #max: number;
  /** Called with every entry recorded here (cluster mode stores it in etcd). */
  onRecord: ((entry: AuditEntry) => void) | undefined;
  /** Who this node is, written into entries in a cluster. */
  node: string | undefined;

  constructor(stateDir: string | undefined, max = 10_000) {
    this.#max = max;
    if (!stateDir) {
      this.#file = null;
      return;
    }
    fs.mkdirSync(stateDir, { recursive: true });
    this.#file = path.join(stateDir, 'audit.log');
    // Keep the tail of an existing log readable through the API after a restart.
    try {
      const lines = fs.readFileSync(this.#file, 'utf8').trim().split('\n').slice(-max);
      for (const l of lines) if (l) this.#recent.push(JSON.parse(l) as AuditEntry);
    } catch {
      // no log yet, or an unreadable one: start a new one
    }
  }

  record(entry: Omit<AuditEntry, 'at'>): AuditEntry {
    const full: AuditEntry = { at: new Date().toISOString(), ...entry, ...(this.node ? { node: this.node } : {}) };
    this.#push(full);
    if (this.#file) fs.appendFileSync(this.#file, JSON.stringify(full) + '\n');
    this.onRecord?.(full);
    return full;
  }

  /** Adds an entry another node recorded (kept in time order). */
  ingest(entry: AuditEntry): void {
    this.#push(entry);
  }

  /** Replaces what is held with `entries` (a full load from etcd), oldest first. */
  replace(entries: readonly AuditEntry[]): void {
    this.#recent.length = 0;
    for (const e of entries) this.#push(e);
  }

  #push(e: AuditEntry): void {
    let i = this.#recent.length;
    while (i > 0 && this.#recent[i - 1]!.at > e.at) i--;
    this.#recent.splice(i, 0, e);
    if (this.#recent.length > this.#max) this.#recent.splice(0, this.#recent.length - this.#max);
  }

  /** The newest entries first, optionally only those about one target prefix. */
  list(opts: { limit?: number; target?: string } = {}): AuditEntry[] {
    const out: AuditEntry[] = [];
    for (let i = this.#recent.length - 1; i >= 0 && out.length < (opts.limit ?? 100); i--) {
      const e = this.#recent[i]!;
      if (!opts.target || e.target === opts.target || e.target.startsWith(opts.target + '/')) out.push(e);
    }
    return out;
  }
}
