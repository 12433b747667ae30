/**
 * @module dns/transfer
 * Zone transfers: AXFR (RFC 5936) and IXFR (RFC 1995), for the secondaries a zone's transfer ACL
 * allows. IXFR is answered with the whole zone in AXFR form, which RFC 1995 §4 allows. Over UDP,
 * AXFR is FORMERR (RFC 5936 §4.2 defines it for TCP only) and IXFR gets just the SOA, which tells
 * the client to retry over TCP (RFC 1995 §2). Policy records go out as the answer for a client
 * with no location, since secondaries cannot run policies. Called by dns/pipeline.ts after its
 * header and question checks.
 *
 * A zone Meridian signs is never transferred (REFUSED): its signatures are made per answer, so a
 * secondary would get either no DNSSEC records — and serve answers that every validating resolver
 * rejects once the parent holds the DS — or a half-signed zone with no way to sign policy answers
 * or denials. Serve a signed zone from more Meridian nodes instead: a cluster shares the keys
 * (docs/dnssec.md, "Secondaries").
 */
import type { BlockList } from 'node:net';
import { RRType } from '../proto/types.js';
import { errorSections, policyRRset } from './answer.js';
import type { PipelineOutput, QueryContext, QueryEnv } from './pipeline.js';
import { decide } from '../policy/evaluate.js';
import { UNKNOWN_CLIENT } from '../policy/client.js';
import { Rcode, encodeReply, encodeTransfer, finishResponse, type Query, type RRset } from '../proto/wire.js';
import { signerFor, tablesFor, type Snapshot } from '../state/snapshot.js';

/** True when `address` may transfer a zone guarded by `acl`. */
function allowed(acl: BlockList, address: string): boolean {
  const plain = address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
  return acl.check(plain, plain.includes(':') ? 'ipv6' : 'ipv4');
}

/** Answers an AXFR or IXFR query for the zone named by its question, from `snapshot`. */
export function transfer(query: Query, ctx: QueryContext, env: QueryEnv, snapshot: Snapshot): PipelineOutput {
  const { maxUdpPayload } = env.options;
  const zone = snapshot.catalog.get(query.qkey);
  const fail = (rcode: number): Buffer => {
    env.observe?.(query, rcode, zone?.origin ?? null);
    return encodeReply(query, errorSections(rcode), ctx.transport, maxUdpPayload);
  };
  if (!zone) return fail(Rcode.NOTAUTH); // RFC 5936 §2.2.1: not authoritative for that zone
  if (!allowed(zone.transferAcl, ctx.remoteAddress)) return fail(Rcode.REFUSED);
  if (signerFor(snapshot, zone)) return fail(Rcode.REFUSED); // signed online: see the module comment
  const soa: RRset = zone.soa;
  if (ctx.transport === 'udp') {
    if (query.qtype === RRType.AXFR) return fail(Rcode.FORMERR);
    env.observe?.(query, Rcode.NOERROR, zone.origin);
    return encodeReply(
      query,
      { rcode: Rcode.NOERROR, aa: true, answer: [soa], authority: [], additional: [], additionalOptional: true },
      ctx.transport,
      maxUdpPayload,
    );
  }
  env.observe?.(query, Rcode.NOERROR, zone.origin);
  // Policy records go out as the answer for a client with no location (secondaries cannot run
  // policies); their TTL is short, and the primary's answers stay the authoritative ones. A CNAME
  // answer is left out where the owner has other data (a CNAME stands alone, RFC 1034 §3.6.2).
  const tables = tablesFor(snapshot, zone);
  const policySets: RRset[] = [];
  for (const rec of zone.policies?.records ?? []) {
    const set = policyRRset(rec.owner, rec, decide(rec, UNKNOWN_CLIENT, snapshot.health, tables));
    if (set && !(set.type === RRType.CNAME && zone.nodes.get(rec.owner)!.rrsets.size > 0)) policySets.push(set);
  }
  const messages = encodeTransfer(query, [...zone.rrsets, ...policySets, soa]);
  // Each message carries OPT when the query did (RFC 5936 §2.2.5 allows it).
  return messages.map((m) => finishResponse(query, { full: m, reduced: null, truncated: m }, 65535, 0, maxUdpPayload));
}
