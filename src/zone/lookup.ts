/**
 * @module zone/lookup
 * Resolves a name and type inside one zone: the authoritative algorithm of RFC 1034 §4.3.2 with
 * the wildcard rules of RFC 4592. The result is a tagged value (answer, nodata, nxdomain,
 * referral); dns/answer.ts turns it into sections and only the pipeline turns it into an rcode.
 * Lookup never fails on a well-formed name and never awaits anything.
 */
import { isAtOrBelow, splitKey } from '../proto/name.js';
import { RRType } from '../proto/types.js';
import { rdataTargetKey } from '../proto/rdata.js';
import type { RRset } from '../proto/wire.js';
import type { Zone, ZoneNode } from './zone.js';
import type { PolicyRecord } from '../policy/types.js';

/** An RRset as it goes into a response: the owner may differ from the stored one (wildcards). */
export interface AnswerRRset {
  /** Owner key to write (the query name for a synthesised wildcard answer, RFC 4592 §3.3.1). */
  readonly owner: string;
  readonly set: RRset;
}

export type LookupResult =
  /**
   * Data found. `records` holds any CNAME chain followed by the RRset asked for. With `policy`,
   * the last RRset is chosen per query by that policy record (policy/evaluate.ts) and is not in
   * `records`; `owner` is the name to answer it under.
   */
  | { kind: 'answer'; zone: Zone; records: AnswerRRset[]; policy?: PolicyAnswer }
  /**
   * The name exists but has no data of this type (RFC 2308 §2.2); `records` holds a CNAME chain,
   * if any. `name` is the name without the data (the end of the chain), `node` what it holds —
   * the wildcard's node for a synthesised name, undefined for an empty non-terminal — which
   * signed denial lists (dns/sign.ts).
   */
  | { kind: 'nodata'; zone: Zone; records: AnswerRRset[]; name: string; node?: ZoneNode | undefined }
  /** The name does not exist (RFC 2308 §2.1); `records` holds a CNAME chain that led here, if any (RFC 6604); `name` is the name that does not exist. */
  | { kind: 'nxdomain'; zone: Zone; records: AnswerRRset[]; name: string }
  /** The name is at or below a zone cut: refer to the child's servers (RFC 1034 §4.3.2 step 3b). */
  | { kind: 'referral'; zone: Zone; ns: RRset };

/** A policy record met by a lookup, and the owner to answer it under (the query name for wildcards). */
export interface PolicyAnswer {
  readonly owner: string;
  readonly record: PolicyRecord;
}

/** The policy record at a node that answers `qtype`: its own type, or a CNAME policy for any type. */
function policyFor(policies: ReadonlyMap<number, PolicyRecord>, qtype: number): PolicyRecord | undefined {
  if (qtype === RRType.ANY) return policies.get(RRType.A) ?? policies.get(RRType.AAAA) ?? policies.get(RRType.CNAME);
  return policies.get(qtype) ?? policies.get(RRType.CNAME);
}

/** RFC 1034 §3.6.2 lets servers chase CNAMEs; a bound keeps loops and long chains cheap. */
export const MAX_CNAME_CHAIN = 8;

/** The highest delegation cut at or above `qkey` (strictly below the apex), or undefined. */
export function findCut(zone: Zone, qkey: string): RRset | undefined {
  if (zone.cuts.size === 0 || qkey === zone.origin) return undefined;
  const labels = splitKey(qkey);
  const originLabels = zone.origin === '' ? 0 : splitKey(zone.origin).length;
  // Walk down from just below the apex toward the query name: the first cut met wins.
  for (let n = originLabels + 1; n <= labels.length; n++) {
    const k = labels.slice(labels.length - n).join('.');
    if (zone.cuts.has(k)) return zone.nodes.get(k)!.rrsets.get(RRType.NS);
  }
  return undefined;
}

/**
 * The source of synthesis for a name that does not exist: `*.<closest encloser>` if that owner
 * exists (RFC 4592 §3.3.1). The closest encloser is the longest existing ancestor; an empty
 * non-terminal counts as existing and so blocks wildcards above it (RFC 4592 §2.2.2).
 */
function findWildcard(zone: Zone, qkey: string): ZoneNode | undefined {
  const labels = splitKey(qkey);
  for (let i = 1; i < labels.length + 1; i++) {
    const ancestor = labels.slice(i).join('.');
    if (!isAtOrBelow(ancestor, zone.origin)) return undefined;
    if (zone.names.has(ancestor)) return zone.nodes.get(ancestor === '' ? '*' : `*.${ancestor}`);
  }
  return undefined;
}

/** Picks the RRset for an ANY query: a single RRset is a conforming answer (RFC 8482 §4.1). */
function anyRRset(node: ZoneNode): RRset | undefined {
  let best: RRset | undefined;
  for (const set of node.rrsets.values()) {
    if (set.type === RRType.RRSIG || set.type === RRType.NSEC) continue;
    if (!best || set.type < best.type) best = set;
  }
  return best;
}

/**
 * Looks up `qkey` (lowercase key) and `qtype` in `zone`, following CNAMEs inside the zone.
 * A CNAME that leaves the zone, enters a delegation or loops ends the chain; the resolver
 * follows it from there (RFC 1034 §4.3.2 step 3a, RFC 2181 §10.1.1).
 */
export function lookup(zone: Zone, qkey: string, qtype: number): LookupResult {
  const records: AnswerRRset[] = [];
  const visited = new Set<string>();
  let name = qkey;
  for (;;) {
    // Step 3b: a referral, unless the query is DS at the cut (the parent side answers DS, RFC 4035 §3.1.4.1).
    const cutNs = findCut(zone, name);
    if (cutNs && !(qtype === RRType.DS && cutNs.owner === name)) {
      if (records.length > 0) return { kind: 'answer', zone, records };
      return { kind: 'referral', zone, ns: cutNs };
    }

    let node = zone.nodes.get(name);
    let owner = name;
    if (!node) {
      if (zone.names.has(name)) return { kind: 'nodata', zone, records, name }; // empty non-terminal
      const wild = zone.hasWildcards ? findWildcard(zone, name) : undefined;
      if (!wild) return { kind: 'nxdomain', zone, records, name };
      node = wild;
      owner = name; // RFC 4592 §3.3.1: the synthesised owner is the query name
    }

    const cname = node.rrsets.get(RRType.CNAME);
    if (cname && qtype !== RRType.CNAME) {
      records.push({ owner, set: cname });
      visited.add(name);
      const target = rdataTargetKey(RRType.CNAME, cname.rdatas[0]!);
      if (target === null || !isAtOrBelow(target, zone.origin) || visited.has(target) || records.length >= MAX_CNAME_CHAIN) {
        return { kind: 'answer', zone, records };
      }
      name = target;
      continue;
    }

    const set = qtype === RRType.ANY ? anyRRset(node) : node.rrsets.get(qtype);
    const policy = node.policies && (!set || qtype === RRType.ANY) ? policyFor(node.policies, qtype) : undefined;
    // RFC 8482 §4.1: for ANY one RRset will do; a static one (cacheable) is preferred.
    if (policy && !(set && qtype === RRType.ANY)) return { kind: 'answer', zone, records, policy: { owner, record: policy } };
    if (set) {
      records.push({ owner, set });
      return { kind: 'answer', zone, records };
    }
    return { kind: 'nodata', zone, records, name, node };
  }
}

/** The A and AAAA RRsets of an in-zone name, for additional-section processing (RFC 1035 §3.3.1 etc.). */
export function addressRRsets(zone: Zone, key: string): RRset[] {
  if (!isAtOrBelow(key, zone.origin)) return [];
  const node = zone.nodes.get(key);
  if (!node) return [];
  const out: RRset[] = [];
  const a = node.rrsets.get(RRType.A);
  const aaaa = node.rrsets.get(RRType.AAAA);
  if (a) out.push(a);
  if (aaaa) out.push(aaaa);
  return out;
}
