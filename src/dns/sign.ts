/**
 * @module dns/sign
 * The signing step of the query path, for a zone Meridian signs and a query with DO=1 (RFC 4035
 * §3.1: RRSIGs only when the DO bit asks for them). It takes the sections dns/answer.ts built and
 * the lookup that led to them, and returns the same sections signed:
 *
 * - every RRset of the answer and authority sections gets its RRSIGs beside it (§3.1.1), and
 *   authoritative RRsets of the additional section too; a referral's NS and glue are not signed
 *   (§2.2: they are the child's);
 * - a wildcard answer is signed under the wildcard's owner (RRSIG Labels one less than the name,
 *   RFC 4034 §3.1.3) and carries an NSEC that covers only the query name, proving no closer match
 *   exists (§3.1.3.3; the minimally covering NSEC of RFC 4470);
 * - denial is compact (RFC 9824): NODATA is one NSEC at the name listing the types it has;
 *   NXDOMAIN becomes NOERROR with one NSEC at the name listing only RRSIG, NSEC and NXNAME
 *   (§3.2), unless the query set Compact Answers OK, which restores the NXDOMAIN rcode (§4);
 *   an empty non-terminal lists RRSIG and NSEC;
 * - a referral to an unsigned child proves there is no DS with an NSEC at the cut listing NS
 *   (§3.1.4.1); a signed child's DS is given with its RRSIG.
 *
 * Nothing here awaits or touches the disk: the signer (dnssec/signer.ts) signs synchronously and
 * remembers its signatures.
 */
import { NSEC_SELF_TYPES, nsecRdata, predecessorKey, siblingSuccessorKey, successorKey } from '../proto/dnssec.js';
import { splitKey } from '../proto/name.js';
import { RRType } from '../proto/types.js';
import { Rcode, type RRset, type Sections } from '../proto/wire.js';
import type { ZoneSigner } from '../dnssec/signer.js';
import { findCut, type LookupResult } from '../zone/lookup.js';
import type { Zone, ZoneNode } from '../zone/zone.js';

/** Signed sections, and when their signatures are to be re-made (ms since the epoch). */
export interface SignedSections extends Sections {
  readonly refreshAt: number;
  /** Signatures in the response (metrics count those served from the encoded-answer cache). */
  readonly signatures: number;
}

/** The TTL of a zone's DNSKEY, CDS and CDNSKEY RRsets: the document's or the API's, else the SOA's. */
export function dnskeyTtl(zone: Zone, signer: ZoneSigner): number {
  return zone.dnssec?.dnskeyTtlSeconds ?? signer.dnskeyTtlSeconds ?? zone.soa.ttlSeconds;
}

/** The apex RRsets the signer makes (RFC 4034 §2, RFC 7344 §3) for `qtype`, or undefined. */
export function signerApexSet(zone: Zone, signer: ZoneSigner, qtype: number): RRset | undefined {
  const ttl = dnskeyTtl(zone, signer);
  if (qtype === RRType.DNSKEY) return signer.dnskeySet(ttl);
  if (qtype === RRType.CDS) return signer.cdsSet(ttl);
  if (qtype === RRType.CDNSKEY) return signer.cdnskeySet(ttl);
  return undefined;
}

/** The ancestor of `name` (or `name`) with one label more than the closest encloser of `wildcard` (`*.<encloser>`). */
function nextCloser(name: string, wildcard: string): string {
  const encloserLabels = splitKey(wildcard).length - 1;
  const parts = splitKey(name);
  return parts.slice(parts.length - encloserLabels - 1).join('.');
}

/** The types present at a name, for its NSEC bitmap (RFC 4034 §4.1.2), RRSIG and NSEC included. */
function typesAt(zone: Zone, name: string, node: ZoneNode | undefined, exclude?: number): number[] {
  const types = new Set<number>(NSEC_SELF_TYPES);
  if (node) {
    for (const t of node.rrsets.keys()) types.add(t);
    for (const t of node.policies?.keys() ?? []) types.add(t);
  }
  if (name === zone.origin) {
    types.add(RRType.DNSKEY);
    types.add(RRType.CDS);
    types.add(RRType.CDNSKEY);
  }
  if (exclude !== undefined) types.delete(exclude);
  return [...types];
}

class Builder {
  refreshAt = Number.POSITIVE_INFINITY;
  signatures = 0;
  constructor(
    readonly zone: Zone,
    readonly signer: ZoneSigner,
  ) {}

  /** `set` and its RRSIGs, signed under `signOwner` (the stored owner; a wildcard's for synthesis). */
  signed(set: RRset, signOwner: string = set.owner): RRset[] {
    const sigs = this.signer.sign(signOwner === set.owner ? set : { ...set, owner: signOwner }, signOwner);
    if (sigs.refreshAt < this.refreshAt) this.refreshAt = sigs.refreshAt;
    this.signatures += sigs.rdatas.length;
    return [set, { owner: set.owner, type: RRType.RRSIG, ttlSeconds: set.ttlSeconds, rdatas: sigs.rdatas }];
  }

  /** An NSEC at `owner` whose next name is `next`, signed (TTL per RFC 9077 §3: the negative TTL). */
  nsec(owner: string, next: string, types: readonly number[]): RRset[] {
    return this.signed({ owner, type: RRType.NSEC, ttlSeconds: this.zone.negativeTtlSeconds, rdatas: [nsecRdata(next, types)] });
  }

  /** Compact denial's NSEC at `name` (RFC 9824 §3): next name its immediate successor. */
  denial(name: string, types: readonly number[]): RRset[] {
    return this.nsec(name, successorKey(name), types);
  }

  /**
   * RFC 4035 §3.1.3.3: an NSEC covering only the next closer name — the ancestor of `name` one
   * label below the wildcard's closest encloser (RFC 5155 §1.3's term) — and its subtree
   * (minimally covering, RFC 4470 §3), proving no closer match than the wildcard exists. Its next name is a sibling, not `\000.name`:
   * a next name below `name` would say `name` is an empty non-terminal, and no wildcard applies.
   */
  wildcardProof(name: string, wildcard: string): RRset[] {
    const closer = nextCloser(name, wildcard);
    return this.nsec(predecessorKey(closer), siblingSuccessorKey(closer), NSEC_SELF_TYPES);
  }

  finish(sections: Sections, answer: RRset[], authority: RRset[], additional: RRset[], rcode = sections.rcode): SignedSections {
    return { ...sections, rcode, answer, authority, additional, refreshAt: this.refreshAt, signatures: this.signatures };
  }
}

/**
 * Signs `sections`, built by dns/answer.ts from `result`, for a DO=1 query to a zone `signer`
 * signs. `policy` says where a policy answer's last RRset came from: its stored owner (a wildcard's
 * for a synthesised name), the owner answered, and the type it lacks when it served nothing.
 * `compactOk`: the query set CO (RFC 9824 §4).
 */
export function signSections(
  result: LookupResult,
  sections: Sections,
  signer: ZoneSigner,
  compactOk: boolean,
  policy?: { readonly storedOwner: string; readonly owner: string; readonly lacking?: number | undefined } | undefined,
): SignedSections {
  const zone = result.zone;
  const b = new Builder(zone, signer);
  const additional = (): RRset[] => sections.additional.flatMap((s) => (findCut(zone, s.owner) ? [s] : b.signed(s)));

  switch (result.kind) {
    case 'answer': {
      const answer: RRset[] = [];
      const authority: RRset[] = [];
      // The answer holds the chain's RRsets in order, then a policy's RRset if one answered.
      sections.answer.forEach((set, i) => {
        const stored = i < result.records.length ? result.records[i]!.set.owner : (policy?.storedOwner ?? set.owner);
        const wildcard = stored !== set.owner && (stored === '*' || stored.startsWith('*.'));
        answer.push(...b.signed(set, wildcard ? stored : set.owner));
        if (wildcard) authority.push(...b.wildcardProof(set.owner, stored));
      });
      for (const s of sections.authority) authority.push(...b.signed(s));
      return b.finish(sections, answer, authority, additional());
    }
    case 'nodata':
    case 'nxdomain': {
      const answer: RRset[] = [];
      const authority: RRset[] = [];
      result.records.forEach((r) => {
        const wildcard = r.set.owner !== r.owner;
        answer.push(...b.signed({ owner: r.owner, type: r.set.type, ttlSeconds: r.set.ttlSeconds, rdatas: r.set.rdatas }, wildcard ? r.set.owner : r.owner));
        if (wildcard) authority.push(...b.wildcardProof(r.owner, r.set.owner));
      });
      for (const s of sections.authority) authority.push(...b.signed(s));
      if (result.kind === 'nxdomain') {
        // RFC 9824 §3.2: the name "exists" with no types but NSEC, RRSIG and NXNAME.
        authority.push(...b.denial(result.name, [...NSEC_SELF_TYPES, RRType.NXNAME]));
        return b.finish(sections, answer, authority, [], compactOk ? Rcode.NXDOMAIN : Rcode.NOERROR);
      }
      // RFC 9824 §3.1: NODATA lists the types the name has (none but RRSIG and NSEC for an empty
      // non-terminal, RFC 9824 §3.3); a policy that serves nothing lacks its type now.
      const exclude = policy && result.name === policy.owner ? policy.lacking : undefined;
      authority.push(...b.denial(result.name, typesAt(zone, result.name, result.node, exclude)));
      return b.finish(sections, answer, authority, []);
    }
    case 'referral': {
      // RFC 4035 §3.1.4: NS unsigned; the DS with its RRSIG, or proof that there is none.
      const cut = result.ns.owner;
      const node = zone.nodes.get(cut);
      const ds = node?.rrsets.get(RRType.DS);
      const authority: RRset[] = [result.ns, ...(ds ? b.signed(ds) : b.denial(cut, typesAt(zone, cut, node)))];
      return b.finish(sections, [], authority, [...sections.additional]);
    }
  }
}
