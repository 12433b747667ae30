/**
 * @module state/zone-store
 * Zones as the admin API edits them: read a zone as a document with an ETag; write a whole new
 * document (create, replace) or delete a zone. Every write:
 *   - is checked by the same code that loads zone files (schema, then zone/zone.ts rules), so a
 *     bad document is refused with every problem and changes nothing;
 *   - honours If-Match: a stale ETag is refused (MRD_ERR_API_PRECONDITION), so two operators never overwrite each
 *     other without knowing;
 *   - bumps the SOA serial (RFC 1982 arithmetic) unless the document already raises it;
 *   - is stored in the zone's own format: a zone that came from a master file (`NAME.zone`) is
 *     written back as a master file with a managed header (zone/export.ts), never switched to
 *     YAML; a write that would give it what a master file cannot hold (regions, pools, policy
 *     records, checks) is refused (MRD_ERR_API_MASTER_FILE). Every other zone is YAML;
 *   - is stored through the {@link Source} as a compare-and-swap on the revision it was
 *     checked against: atomically in the zones directory (temp file, fsync, rename), or in etcd
 *     as a transaction on the key's mod revision (cluster mode). Either way a write that lost a
 *     race is refused (MRD_ERR_API_PRECONDITION), never applied on top, and the new snapshot is in place on this node
 *     before the API answers;
 *   - is recorded in the audit log with the revision before and after.
 * A refused write throws a MeridianError with its code (src/errors.ts) and changes nothing;
 * admin/problem.ts turns the code into the API's status and title.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { keyToPresentation, presentationToKey } from '../proto/name.js';
import { validateZoneDocument, type ZoneDocument } from '../model/zone-schema.js';
import { beyondMasterFile, documentOf, documentToYaml, recordLines, toManagedMasterFile } from '../zone/export.js';
import { createError, fieldError, type MeridianError } from '../errors.js';
import { loadZoneText } from '../zone/load.js';
import type { Zone } from '../zone/zone.js';
import type { AuditLog } from './audit.js';
import type { CommitRefusal, Source, ZoneEntry } from './source.js';

export interface StoredZone {
  readonly origin: string;
  /** File path or etcd key. */
  readonly file: string;
  readonly kind: 'yaml' | 'master';
  readonly zone: Zone;
  readonly text: string;
  readonly etag: string;
  readonly document: ZoneDocument;
}

/** A stored write. A refused one throws instead (see the module comment). */
export interface WriteOutcome {
  etag: string;
  serial: number;
  zone: Zone;
  created: boolean;
}

export interface WriteOptions {
  readonly who: string;
  /** The If-Match header, when given (`*` matches any existing zone). */
  readonly ifMatch?: string | undefined;
  /** Audit action and target (default: zone.replace / the zone). */
  readonly action?: string;
  readonly target?: string;
  readonly detail?: unknown;
  /** The format a zone this write creates is kept in (default yaml; an import creates a master file). */
  readonly createAs?: 'yaml' | 'master';
}

/** A strong ETag for a zone revision: its serial and a hash of its text. */
export function etagOf(zone: Zone, text: string): string {
  return `"${zone.serial}-${createHash('sha1').update(text).digest('hex').slice(0, 12)}"`;
}

/** RFC 1982 §3.2: s1 is greater than s2 in serial number arithmetic. */
export function serialGreater(s1: number, s2: number): boolean {
  return (s1 < s2 && s2 - s1 > 2 ** 31) || (s1 > s2 && s1 - s2 < 2 ** 31);
}

function matches(ifMatch: string | undefined, etag: string | null): boolean {
  if (ifMatch === undefined) return true;
  if (ifMatch.trim() === '*') return etag !== null;
  if (etag === null) return false;
  // A list of ETags; weak comparison is not allowed for If-Match (RFC 9110 §13.1.1).
  return ifMatch.split(',').some((t) => t.trim() === etag);
}

export class ZoneStore {
  constructor(
    private readonly source: Source,
    private readonly audit: AuditLog,
    /** Runs before a built zone is stored: makes the DNSSEC keys of a zone that asks for signing (state/dnssec.ts). */
    private readonly beforeStore?: (zone: Zone) => Promise<void>,
  ) {}

  /** The origin key of a zone name as written in a URL (`example.net` or `example.net.`). */
  static originOf(name: string): string | null {
    try {
      return presentationToKey(name.endsWith('.') ? name : `${name}.`, null);
    } catch {
      return null;
    }
  }

  list(): StoredZone[] {
    const out: StoredZone[] = [];
    for (const zone of this.source.zones()) {
      const z = this.get(zone.origin);
      if (z) out.push(z);
    }
    return out.sort((a, b) => a.origin.localeCompare(b.origin));
  }

  get(origin: string): StoredZone | undefined {
    const e = this.source.entry(origin);
    return e ? this.#stored(e) : undefined;
  }

  #stored(e: ZoneEntry): StoredZone {
    return {
      origin: e.zone.origin,
      file: e.name,
      kind: e.kind,
      zone: e.zone,
      text: e.text,
      etag: etagOf(e.zone, e.text),
      document: documentOf(e.zone, e.text, e.kind),
    };
  }

  /** Throws MRD_ERR_API_UNAVAILABLE when the store cannot take writes now. */
  #blocked(): void {
    const why = this.source.writeBlocked();
    if (why) throw createError('MRD_ERR_API_UNAVAILABLE', `${why}; nothing was changed, retry when it is back`);
  }

  /**
   * Writes a zone document. `origin` null means create (refused if the zone exists); otherwise
   * the zone must exist (replace) and the document must keep its name. Throws a MeridianError
   * when the write is refused: MRD_ERR_API_BAD_REQUEST (with each field at fault),
   * MRD_ERR_API_NOT_FOUND, MRD_ERR_API_CONFLICT, MRD_ERR_API_PRECONDITION,
   * MRD_ERR_API_MASTER_FILE or MRD_ERR_API_UNAVAILABLE.
   */
  async write(origin: string | null, doc: unknown, opts: WriteOptions): Promise<WriteOutcome> {
    const problems = validateZoneDocument(doc);
    if (problems.length > 0) {
      throw fieldError(
        'MRD_ERR_API_BAD_REQUEST',
        problems.map((p) => p.message).join('; '),
        problems.map((p) => ({ field: p.message.split(':')[0], code: p.ttlRange ? 'MRD_ERR_ZONE_TTL' : 'MRD_ERR_ZONE_SCHEMA', message: p.message })),
      ).titled('The zone document is not valid');
    }
    const d = structuredClone(doc) as ZoneDocument;
    const docOrigin = ZoneStore.originOf(d.zone);
    if (docOrigin === null) throw createError('MRD_ERR_API_BAD_REQUEST', `zone: "${d.zone}" is not a domain name`).titled('Bad zone name');
    const target = origin ?? docOrigin;
    if (origin !== null && docOrigin !== origin) {
      throw createError(
        'MRD_ERR_API_BAD_REQUEST',
        `zone: "${d.zone}" does not match the zone in the URL (${keyToPresentation(origin)}); create the new zone instead`,
      ).titled('The document names another zone');
    }
    const current = this.source.entry(target);
    if (origin === null && current)
      throw createError('MRD_ERR_API_CONFLICT', `zone ${keyToPresentation(target)} already exists; replace it with PUT`).titled('The zone exists');
    if (origin !== null && !current) throw createError('MRD_ERR_API_NOT_FOUND', `zone ${keyToPresentation(target)} is not served here`).titled('No such zone');
    const before = current ? etagOf(current.zone, current.text) : null;
    if (!matches(opts.ifMatch, before)) {
      throw createError(
        'MRD_ERR_API_PRECONDITION',
        `If-Match ${opts.ifMatch} does not match the current revision ${before ?? '(none)'}; read the zone again and retry`,
      );
    }
    this.#blocked();
    // Every write moves the serial forward, so secondaries and caches see a new version.
    if (current && !serialGreater(d.soa.serial, current.zone.serial)) d.soa.serial = (current.zone.serial + 1) % 2 ** 32;

    // The zone keeps the format it has; a new one gets the format its creator asked for.
    const kind = current?.kind ?? opts.createAs ?? 'yaml';
    if (kind === 'master') {
      const beyond = beyondMasterFile(d);
      if (beyond.length > 0) {
        const where = current ? path.basename(current.name) : 'a master file';
        throw fieldError(
          'MRD_ERR_API_MASTER_FILE',
          `zone ${keyToPresentation(target)} is kept as an RFC 1035 master file (${where}), which cannot hold ${beyond.join(', ')}; nothing was changed. To use them, convert the zone to YAML first (docs/zones.md)`,
          beyond.map((f) => ({ field: f, code: 'MRD_ERR_API_MASTER_FILE', message: `${f}: a master-file zone cannot hold it` })),
        );
      }
    }
    const base = keyToPresentation(target).replace(/\.$/, '') || 'root';
    const yaml = documentToYaml(d);
    let built = loadZoneText(yaml, `${base}.yaml`);
    let text = yaml;
    if (built.ok && kind === 'master') {
      // Written back as RFC 1035 text; what is served is what that text loads to, and it must
      // hold exactly the records the document does.
      text = toManagedMasterFile(built.zone);
      const asMaster = loadZoneText(text, `${base}.zone`);
      if (asMaster.ok && recordLines(asMaster.zone).join('\n') !== recordLines(built.zone).join('\n')) {
        throw createError(
          'MRD_ERR_API_MASTER_FILE',
          `zone ${keyToPresentation(target)} does not come back the same from its master-file form; nothing was changed`,
        );
      }
      built = asMaster;
    }
    if (!built.ok) {
      throw fieldError(
        'MRD_ERR_API_BAD_REQUEST',
        built.errors.map((e) => e.message).join('; '),
        built.errors.map((e) => ({ code: e.code, message: e.message, ...(e.record ? { field: e.record } : {}) })),
      ).titled('The zone does not load');
    }
    // Keys first, so a zone that asks for signing is signed from its first answer; refused
    // (MRD_ERR_DNSSEC_NO_STATE) when there is nowhere durable to keep them, changing nothing.
    await this.beforeStore?.(built.zone);
    const stored = await this.source.put(target, text, built.zone, current?.revision ?? null, kind);
    if (!stored.ok) throw refused(stored.code, target, stored.detail);
    const etag = etagOf(built.zone, text);
    this.audit.record({
      who: opts.who,
      action: opts.action ?? (current ? 'zone.replace' : 'zone.create'),
      target: opts.target ?? keyToPresentation(target),
      before,
      after: etag,
      ...(opts.detail !== undefined ? { detail: opts.detail } : {}),
    });
    return { etag, serial: built.zone.serial, zone: built.zone, created: !current };
  }

  /** Deletes a zone; honours If-Match. Throws like {@link write}. */
  async remove(origin: string, opts: WriteOptions): Promise<void> {
    const current = this.source.entry(origin);
    if (!current) throw createError('MRD_ERR_API_NOT_FOUND', `zone ${keyToPresentation(origin)} is not served here`).titled('No such zone');
    const before = etagOf(current.zone, current.text);
    if (!matches(opts.ifMatch, before)) throw createError('MRD_ERR_API_PRECONDITION', `If-Match ${opts.ifMatch} does not match the current revision ${before}`);
    this.#blocked();
    const stored = await this.source.delete(origin, current.revision);
    if (!stored.ok) throw refused(stored.code, origin, stored.detail);
    this.audit.record({ who: opts.who, action: 'zone.delete', target: keyToPresentation(origin), before, after: null });
  }

  /**
   * Edits a zone's document with `edit` (which refuses by throwing a MeridianError, say
   * MRD_ERR_API_NOT_FOUND or MRD_ERR_API_CONFLICT) and writes it. The edit sees a copy; If-Match
   * is checked against the revision the edit started from, and the store refuses the write if
   * the zone changed while it ran.
   */
  async edit(origin: string, opts: WriteOptions, edit: (doc: ZoneDocument) => void): Promise<WriteOutcome> {
    const current = this.get(origin);
    if (!current) throw createError('MRD_ERR_API_NOT_FOUND', `zone ${keyToPresentation(origin)} is not served here`).titled('No such zone');
    if (!matches(opts.ifMatch, current.etag))
      throw createError('MRD_ERR_API_PRECONDITION', `If-Match ${opts.ifMatch} does not match the current revision ${current.etag}; read it again and retry`);
    const doc = structuredClone(current.document);
    edit(doc);
    return this.write(origin, doc, { ...opts, ifMatch: current.etag });
  }
}

/** A write the store refused: another write got there first, or the store is unreachable. */
function refused(code: CommitRefusal, origin: string, detail: string): MeridianError {
  if (code === 'MRD_ERR_API_UNAVAILABLE') return createError(code, `${detail}; nothing was changed, retry when it is back`);
  if (code === 'MRD_ERR_API_CONFLICT')
    return createError(code, `${detail}: another write created it first; read it and replace it with PUT`).titled('The zone exists');
  return createError(code, `${detail}: another write got there first; read zone ${keyToPresentation(origin)} again and retry`);
}
