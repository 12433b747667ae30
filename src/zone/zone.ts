/**
 * @module zone/zone
 * A served zone: its records indexed by owner name, its delegation cuts and empty non-terminals,
 * built from a {@link ParsedZone} by {@link buildZone}. Building is where the rules that span
 * records are checked (one SOA at the apex, NS at the apex, CNAME alone, nothing but glue below
 * a cut); a zone with any problem is not built, so the snapshot never holds a half-valid zone.
 *
 * Zones are immutable once built. zone/lookup.ts reads them on the query path; dns/transfer.ts (AXFR,
 * IXFR) walks {@link Zone.records} in order.
 */
import { BlockList, isIP } from 'node:net';
import { zoneError, type ZoneError, type SourcePosition } from '../errors.js';
import { isAtOrBelow, parentKey } from '../proto/name.js';
import { RRType, typeToName } from '../proto/types.js';
import { rdataTargetKey, soaFields } from '../proto/rdata.js';
import type { RRset } from '../proto/wire.js';
import type { ParsedZone, ZoneDnssec, ZoneRecord } from './record.js';
import type { CompiledPolicies } from '../policy/compile.js';
import type { PolicyRecord } from '../policy/types.js';

/** The RRsets of one owner name. */
export interface ZoneNode {
  readonly owner: string;
  readonly rrsets: ReadonlyMap<number, RRset>;
  /** Policy records at this name by type (A, AAAA, CNAME); answers chosen per query. */
  readonly policies?: ReadonlyMap<number, PolicyRecord>;
}

/** One zone, ready to serve. */
export interface Zone {
  /** Origin key (lowercase, no trailing dot). */
  readonly origin: string;
  readonly file: string;
  /** Owner key → node, for names that own records. */
  readonly nodes: ReadonlyMap<string, ZoneNode>;
  /**
   * Every name that exists in the zone: owners plus their ancestors up to the origin, so an
   * empty non-terminal (RFC 4592 §2.2.2, RFC 8020) is known to exist and answers NODATA.
   */
  readonly names: ReadonlySet<string>;
  /** Owners of NS RRsets below the apex: the delegation points (RFC 1034 §4.2.1). */
  readonly cuts: ReadonlySet<string>;
  /** True when any owner starts with the `*` label (RFC 4592), so lookups may skip the search. */
  readonly hasWildcards: boolean;
  readonly soa: RRset;
  readonly serial: number;
  /** TTL of negative answers: min(SOA TTL, SOA MINIMUM), RFC 2308 §3 and §5. */
  readonly negativeTtlSeconds: number;
  /** Who may AXFR this zone (RFC 5936 §6 leaves the policy to the operator). */
  readonly transferAcl: BlockList;
  /** The ACL as written, for display. */
  readonly transferAllow: readonly string[];
  /** Every RRset, SOA first, in a stable order (used by AXFR). */
  readonly rrsets: readonly RRset[];
  /** Count of resource records. */
  readonly recordCount: number;
  /** Regions, pools and policy records (YAML zones), or null. */
  readonly policies: CompiledPolicies | null;
  /** The document's `dnssec:` block (the zone asks to be signed), or null (docs/dnssec.md). */
  readonly dnssec: ZoneDnssec | null;
  /**
   * Things that load but deserve an operator's attention, as coded errors that did not stop the
   * load: RRset TTLs that disagreed (MRD_ERR_ZONE_TTL_MISMATCH). Logged at warn level.
   */
  readonly warnings: readonly ZoneError[];
}

/** Addresses that may transfer a zone whose file names none: loopback only. */
export const DEFAULT_TRANSFER_ALLOW = ['127.0.0.0/8', '::1/128'] as const;

/** Builds a BlockList from CIDR strings or single addresses; throws on a malformed entry. */
export function buildAcl(entries: readonly string[]): BlockList {
  const acl = new BlockList();
  for (const entry of entries) {
    const [addr, prefixText] = entry.split('/');
    const family = isIP(addr ?? '');
    if (family === 0) throw new Error(`"${entry}" is not an IP address or CIDR`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (prefixText === undefined) {
      acl.addAddress(addr!, type);
    } else {
      const prefix = Number(prefixText);
      if (!/^\d+$/.test(prefixText) || prefix > (family === 4 ? 32 : 128)) {
        throw new Error(`"${entry}" has a bad prefix length`);
      }
      acl.addSubnet(addr!, prefix, type);
    }
  }
  return acl;
}

/** The result of building a zone: the zone, or every problem found. */
export type BuildResult = { ok: true; zone: Zone } | { ok: false; errors: ZoneError[] };

/** Types an online signer makes, which a signed zone's data may not hold. */
export const SIGNER_MADE: ReadonlySet<number> = new Set([
  RRType.DNSKEY,
  RRType.RRSIG,
  RRType.NSEC,
  RRType.NSEC3,
  RRType.NSEC3PARAM,
  RRType.CDS,
  RRType.CDNSKEY,
]);

/** Types that may sit beside a CNAME (RFC 2181 §10.1, RFC 4035 §2.5). */
const CNAME_COMPANIONS: ReadonlySet<number> = new Set([RRType.RRSIG, RRType.NSEC]);

/**
 * Validates a parsed zone as a whole and indexes it. Any parser errors are passed through;
 * records with problems make the whole zone fail, naming file, line and record.
 */
export function buildZone(parsed: ParsedZone): BuildResult {
  const errors: ZoneError[] = [...parsed.errors];
  const warnings: ZoneError[] = [];
  const origin = parsed.origin;
  const file = parsed.file;
  const whole: SourcePosition = { file, line: 0 };

  // Group records into RRsets, keeping first-seen order (AXFR output follows the file).
  const byOwner = new Map<string, Map<number, ZoneRecord[]>>();
  for (const rec of parsed.records) {
    if (!isAtOrBelow(rec.owner, origin)) {
      errors.push(zoneError('MRD_ERR_ZONE_OUT_OF_ZONE', rec.at, [rec.owner, origin], rec.text));
      continue;
    }
    let types = byOwner.get(rec.owner);
    if (!types) byOwner.set(rec.owner, (types = new Map()));
    let list = types.get(rec.type);
    if (!list) types.set(rec.type, (list = []));
    list.push(rec);
  }

  // Meridian makes the DNSSEC records of a zone it signs (DNSKEY, RRSIG, NSEC, CDS, CDNSKEY): a
  // zone that also holds its own would be served with two conflicting sets (RFC 4035 §2).
  if (parsed.dnssec) {
    for (const rec of parsed.records) {
      if (SIGNER_MADE.has(rec.type)) errors.push(zoneError('MRD_ERR_ZONE_DNSSEC_RECORD', rec.at, [typeToName(rec.type), rec.owner || '.'], rec.text));
    }
  }

  const soaRecords = byOwner.get(origin)?.get(RRType.SOA) ?? [];
  if (soaRecords.length === 0) errors.push(zoneError('MRD_ERR_ZONE_NO_SOA', whole, [origin]));
  else if (soaRecords.length > 1) errors.push(zoneError('MRD_ERR_ZONE_MULTIPLE_SOA', soaRecords[1]!.at, [origin], soaRecords[1]!.text));
  if ((byOwner.get(origin)?.get(RRType.NS) ?? []).length === 0) errors.push(zoneError('MRD_ERR_ZONE_NO_NS', whole, [origin]));

  // Delegation points: NS owners below the apex.
  const cuts = new Set<string>();
  for (const [owner, types] of byOwner) {
    if (owner !== origin && types.has(RRType.NS)) cuts.add(owner);
  }
  const cutAbove = (owner: string): string | null => {
    // The highest cut strictly above `owner` (data at or below it is occluded).
    let found: string | null = null;
    for (let k = parentKey(owner); k !== null && k !== origin && isAtOrBelow(k, origin); k = parentKey(k)) {
      if (cuts.has(k)) found = k;
    }
    return found;
  };

  // Names that NS records point at, per cut: what may legitimately sit below it as glue.
  const glueTargets = new Set<string>();
  for (const [owner, types] of byOwner) {
    for (const rec of types.get(RRType.NS) ?? []) {
      const target = rdataTargetKey(RRType.NS, rec.rdata);
      if (target !== null) glueTargets.add(target);
    }
    void owner;
  }

  const nodes = new Map<string, ZoneNode>();
  const rrsets: RRset[] = [];
  for (const [owner, types] of byOwner) {
    for (const [type, list] of types) {
      if (type === RRType.SOA && owner !== origin) {
        errors.push(zoneError('MRD_ERR_ZONE_MULTIPLE_SOA', list[0]!.at, [origin], list[0]!.text));
      }
    }
    const cname = types.get(RRType.CNAME);
    if (cname) {
      if (cname.length > 1) errors.push(zoneError('MRD_ERR_ZONE_MULTIPLE_CNAME', cname[1]!.at, [owner], cname[1]!.text));
      for (const [type, list] of types) {
        if (type !== RRType.CNAME && !CNAME_COMPANIONS.has(type)) {
          const culprit = list[0]!.at.line > cname[0]!.at.line ? list[0]! : cname[0]!;
          errors.push(zoneError('MRD_ERR_ZONE_CNAME_CONFLICT', culprit.at, [owner], culprit.text));
          break;
        }
      }
    }
    const cut = cutAbove(owner);
    if (cut !== null) {
      // Below a zone cut only glue may exist (RFC 1034 §4.2.1): A/AAAA that an NS names.
      for (const [type, list] of types) {
        const isGlue = (type === RRType.A || type === RRType.AAAA) && glueTargets.has(owner);
        if (!isGlue) errors.push(zoneError('MRD_ERR_ZONE_GLUE', list[0]!.at, [owner, cut], list[0]!.text));
      }
    }

    const nodeSets = new Map<number, RRset>();
    for (const [type, list] of types) {
      const ttlSeconds = list[0]!.ttlSeconds;
      if (list.some((r) => r.ttlSeconds !== ttlSeconds)) {
        // RFC 2181 §5.2 deprecates differing TTLs in an RRset ("must be the same") but tells a
        // receiver to cope rather than refuse. BIND and NSD load such a zone and use the first
        // TTL; so does Meridian, and it raises MRD_ERR_ZONE_TTL_MISMATCH as a warning, not an error.
        warnings.push(zoneError('MRD_ERR_ZONE_TTL_MISMATCH', list[0]!.at, [typeToName(type), owner, ttlSeconds]));
      }
      // An RRset is a set: identical RDATA is kept once (RFC 2181 §5).
      const seen = new Set<string>();
      const rdatas: Buffer[] = [];
      for (const r of list) {
        const k = r.rdata.toString('hex');
        if (!seen.has(k)) {
          seen.add(k);
          rdatas.push(r.rdata);
        }
      }
      const set: RRset = { owner, type, ttlSeconds, rdatas };
      nodeSets.set(type, set);
      rrsets.push(set);
    }
    nodes.set(owner, { owner, rrsets: nodeSets });
  }

  // Policy records: names whose A, AAAA or CNAME answer a policy picks per query.
  for (const rec of parsed.policies?.records ?? []) {
    const label = `${typeToName(rec.rrtype)} ${rec.owner || '.'}`;
    if (!isAtOrBelow(rec.owner, origin)) {
      errors.push(zoneError('MRD_ERR_ZONE_OUT_OF_ZONE', rec.at, [rec.owner, origin]));
      continue;
    }
    const cut = cuts.has(rec.owner) ? rec.owner : cutAbove(rec.owner);
    if (cut !== null || rec.owner === origin) {
      errors.push(
        zoneError('MRD_ERR_POLICY_CONFLICT', rec.at, [
          label,
          rec.owner,
          cut !== null ? `the delegation at "${cut}"` : 'the zone apex (SOA and NS live there; put the policy on a name below it)',
        ]),
      );
      continue;
    }
    const node = nodes.get(rec.owner);
    const policies = new Map(node?.policies ?? []);
    const statics = node?.rrsets ?? new Map<number, RRset>();
    let conflict: string | null = null;
    if (statics.has(rec.rrtype)) conflict = `a static ${typeToName(rec.rrtype)} RRset at the same name`;
    else if (statics.has(RRType.CNAME)) conflict = 'a static CNAME at the same name (RFC 1034 §3.6.2)';
    else if (rec.rrtype === RRType.CNAME && (statics.size > 0 || policies.size > 0))
      conflict = 'other data at the same name (a CNAME must be alone, RFC 1034 §3.6.2)';
    else if (policies.has(RRType.CNAME)) conflict = 'a CNAME policy record at the same name (RFC 1034 §3.6.2)';
    if (conflict) {
      errors.push(zoneError('MRD_ERR_POLICY_CONFLICT', rec.at, [label, rec.owner, conflict]));
      continue;
    }
    policies.set(rec.rrtype, rec);
    nodes.set(rec.owner, { owner: rec.owner, rrsets: statics, policies });
  }

  let transferAcl: BlockList;
  const transferAllow = parsed.transferAllow ?? [...DEFAULT_TRANSFER_ALLOW];
  try {
    transferAcl = buildAcl(transferAllow);
  } catch (err) {
    errors.push(zoneError('MRD_ERR_ZONE_SCHEMA', whole, [`transfer allow list: ${(err as Error).message}`]));
    transferAcl = new BlockList();
  }

  if (errors.length > 0) return { ok: false, errors };

  const names = new Set<string>();
  let hasWildcards = false;
  for (const owner of nodes.keys()) {
    if (owner === '*' || owner.startsWith('*.')) hasWildcards = true;
    for (let k: string | null = owner; k !== null && isAtOrBelow(k, origin); k = parentKey(k)) {
      if (names.has(k)) break;
      names.add(k);
    }
  }

  const soa = nodes.get(origin)!.rrsets.get(RRType.SOA)!;
  const fields = soaFields(soa.rdatas[0]!);
  // SOA first, then the rest in file order (AXFR, RFC 5936 §2.2).
  const ordered = [soa, ...rrsets.filter((s) => s !== soa)];
  const recordCount = ordered.reduce((n, s) => n + s.rdatas.length, 0);
  return {
    ok: true,
    zone: {
      origin,
      file,
      nodes,
      names,
      cuts,
      hasWildcards,
      soa,
      serial: fields.serial,
      negativeTtlSeconds: Math.min(soa.ttlSeconds, fields.minimum),
      transferAcl,
      transferAllow,
      rrsets: ordered,
      recordCount,
      policies: parsed.policies ?? null,
      dnssec: parsed.dnssec ?? null,
      warnings,
    },
  };
}
