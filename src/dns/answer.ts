/**
 * @module dns/answer
 * Builds the sections of an authoritative response from a lookup result: AA, the SOA in the
 * authority section of negative answers, NS and glue for referrals, and additional-section
 * addresses for NS, MX and SRV targets. Called by dns/pipeline.ts; the result goes to
 * proto/wire.ts for encoding.
 */
import { RRType } from '../proto/types.js';
import { Rcode, type Sections, type RRset } from '../proto/wire.js';
import { addressRRsets, type LookupResult } from '../zone/lookup.js';
import { rdataTargetKey } from '../proto/rdata.js';
import type { Zone } from '../zone/zone.js';
import type { Decision, Endpoint, PolicyRecord } from '../policy/types.js';

/** Types whose targets earn additional-section addresses (RFC 1035 §3.3.9, §3.3.11; RFC 2782). */
const ADDITIONAL_FOR: ReadonlySet<number> = new Set([RRType.NS, RRType.MX, RRType.SRV]);

/**
 * The SOA for a negative answer, with the TTL of RFC 2308 §3: the smaller of the SOA's own TTL
 * and its MINIMUM field, so resolvers cache the denial exactly that long.
 */
function negativeSoa(zone: Zone): RRset {
  return { owner: zone.origin, type: RRType.SOA, ttlSeconds: zone.negativeTtlSeconds, rdatas: zone.soa.rdatas };
}

/** In-zone addresses for the targets of `sets`, each RRset once, skipping those already answered. */
function additionalFor(zone: Zone, sets: readonly RRset[], skip: ReadonlySet<RRset> = new Set()): RRset[] {
  const out: RRset[] = [];
  const seen = new Set<RRset>(skip);
  for (const s of sets) {
    if (!ADDITIONAL_FOR.has(s.type)) continue;
    for (const rdata of s.rdatas) {
      const target = rdataTargetKey(s.type, rdata);
      if (target === null) continue;
      for (const addr of addressRRsets(zone, target)) {
        if (seen.has(addr)) continue;
        seen.add(addr);
        out.push(addr);
      }
    }
  }
  return out;
}

/** Turns a lookup result into response sections. */
export function buildSections(result: LookupResult): Sections {
  switch (result.kind) {
    case 'answer': {
      const answer: RRset[] = result.records.map((r) =>
        r.owner === r.set.owner ? r.set : { owner: r.owner, type: r.set.type, ttlSeconds: r.set.ttlSeconds, rdatas: r.set.rdatas },
      );
      const answered = new Set(result.records.map((r) => r.set));
      return {
        rcode: Rcode.NOERROR,
        aa: true,
        answer,
        authority: [],
        additional: additionalFor(result.zone, answer, answered),
        additionalOptional: true,
      };
    }
    case 'nodata':
    case 'nxdomain':
      // RFC 2308 §2.1 and §2.2: SOA in authority; a CNAME chain that led here stays in the
      // answer, and the rcode is that of the last name in the chain (RFC 6604 §2.1).
      return {
        rcode: result.kind === 'nxdomain' ? Rcode.NXDOMAIN : Rcode.NOERROR,
        aa: true,
        answer: result.records.map((r) => ({ owner: r.owner, type: r.set.type, ttlSeconds: r.set.ttlSeconds, rdatas: r.set.rdatas })),
        authority: [negativeSoa(result.zone)],
        additional: [],
        additionalOptional: true,
      };
    case 'referral':
      // RFC 1034 §4.3.2 step 3b: not authoritative below the cut; NS in authority, glue in
      // additional. Glue for in-domain servers is required (RFC 9471 §3), so it is not dropped.
      return {
        rcode: Rcode.NOERROR,
        aa: false,
        answer: [],
        authority: [result.ns],
        additional: additionalFor(result.zone, [result.ns]),
        additionalOptional: false,
      };
  }
}

/**
 * The RRset a policy decision answers with: the chosen addresses (A or AAAA), or — when the
 * decision holds only hostnames — a CNAME to the first of them (a CNAME stands alone, RFC 2181
 * §10.1). Null when the decision is empty (serve_none).
 */
export function policyRRset(owner: string, record: PolicyRecord, decision: Decision): RRset | null {
  const eps = answeredEndpoints(decision);
  if (eps.length === 0) return null;
  return { owner, type: eps[0]!.rrtype, ttlSeconds: record.ttlSeconds, rdatas: eps.map((e) => e.rdata) };
}

/**
 * The endpoints a decision's answer actually holds (what {@link policyRRset} sends, and what a
 * drill preview compares): the addresses, else the one hostname the CNAME points at.
 */
export function answeredEndpoints(decision: Decision): readonly Endpoint[] {
  const eps = decision.endpoints;
  if (eps.length === 0) return eps;
  const addresses = eps.filter((e) => e.rrtype !== RRType.CNAME);
  return addresses.length > 0 ? addresses : [eps[0]!];
}

/** Sections for a lookup that ended at a policy record, given the policy's decision. */
export function policySections(result: LookupResult & { kind: 'answer' }, decision: Decision): Sections {
  const chain = buildSections({ kind: 'answer', zone: result.zone, records: result.records });
  const set = result.policy ? policyRRset(result.policy.owner, result.policy.record, decision) : null;
  if (set) return { ...chain, answer: [...chain.answer, set] };
  // serve_none: NODATA with the SOA (RFC 2308 §2.2), keeping any CNAME chain that led here.
  return buildSections(policyNodata(result));
}

/** The NODATA a policy that serves nothing answers with (its owner exists, its data does not now). */
export function policyNodata(result: LookupResult & { kind: 'answer' }): LookupResult & { kind: 'nodata' } {
  const owner = result.policy?.owner ?? result.zone.origin;
  const stored = result.policy?.record.owner ?? owner;
  return { kind: 'nodata', zone: result.zone, records: result.records, name: owner, node: result.zone.nodes.get(stored) };
}

/** Sections of an error response: no records, just the rcode. */
export function errorSections(rcode: number): Sections {
  return { rcode, aa: false, answer: [], authority: [], additional: [], additionalOptional: true };
}
