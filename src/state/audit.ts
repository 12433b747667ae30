/**
 * @module state/audit
 * The audit log: one JSON line per change made through the admin API (who, when, what, and the
 * zone revision before and after). It is appended to `audit.log` in the state directory when
 * there is one, and the most recent entries are kept in memory for `GET /v1/audit`.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface AuditEntry {
  readonly at: string;
  /** The token's name, or `anonymous` when the API runs without tokens. */
  readonly who: string;
  /** `zone.create`, `zone.replace`, `zone.delete`, `record.create`, `override.set`, ... */
  readonly action: string;
  /** What was changed: a zone, `zone/records/name/type`, an override target. */
  readonly target: string;
  /** ETag (revision) before and after; null when there was none. */
  readonly before: string | null;
  readonly after: string | null;
  readonly detail?: unknown;
}

export class AuditLog {
  readonly #file: string | null;
  readonly #recent: AuditEntry[] = [];
  readonly #max: number;

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
    const full: AuditEntry = { at: new Date().toISOString(), ...entry };
    this.#recent.push(full);
    if (this.#recent.length > this.#max) this.#recent.splice(0, this.#recent.length - this.#max);
    if (this.#file) fs.appendFileSync(this.#file, JSON.stringify(full) + '\n');
    return full;
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
