/**
 * @module dns/pipeline
 * The query path, step by step, in one function (docs/query-path.md draws it):
 *
 *   decode (dns/wire) → checks → cache → find zone (zone/catalog) → lookup (zone/lookup)
 *     → sections (dns/answer) → encode (dns/wire) → finish: ID, question, OPT, size limit
 *
 * The transports (dns/udp.ts, dns/tcp.ts) hand bytes in and send what comes out. The snapshot is
 * read once, by the caller, and passed in; nothing here awaits. Only this module turns outcomes
 * into rcodes.
 */
import { BlockList } from 'node:net';
import { RRType } from './types.js';
import { buildSections, errorSections, policyRRset, policySections } from './answer.js';
import { PolicyRoute } from './cache.js';
import { decide } from '../policy/evaluate.js';
import { UNKNOWN_CLIENT, clientFromAddress, clientFromEcs, type Client } from '../policy/client.js';
import type { HealthView } from '../policy/health-view.js';
import type { Decision, Endpoint, PolicyRecord, TraceStep } from '../policy/types.js';
import {
  Opcode,
  Rcode,
  encodeResponse,
  encodeTransfer,
  finishResponse,
  parseQuery,
  payloadLimit,
  type Query,
  type EncodedResponse,
  type Sections,
  type WireRRset,
} from './wire.js';
import { lookup } from '../zone/lookup.js';
import type { Snapshot } from '../state/snapshot.js';

export type Transport = 'udp' | 'tcp';

/** Who asked, and how. */
export interface QueryContext {
  readonly transport: Transport;
  /** Source address of the packet or connection. */
  readonly remoteAddress: string;
}

export interface PipelineOptions {
  /** Largest UDP response we send and advertise (RFC 6891 §6.2.5); 1232 by default (DNS Flag Day 2020). */
  readonly maxUdpPayload: number;
  /** Serve client-independent answers from the snapshot's encoded-answer cache. */
  readonly useCache: boolean;
}

export const DEFAULT_PIPELINE_OPTIONS: PipelineOptions = { maxUdpPayload: 1232, useCache: true };

/** What the pipeline tells the transport: one message, several (AXFR), or nothing (drop). */
export type PipelineOutput = Buffer | Buffer[] | null;

/**
 * The simulator's hooks: collect the policy trace, and decide with another health view (what-if).
 * When given, policy answers are encoded afresh (no cache), but by the same code.
 */
export interface Explain {
  readonly trace: TraceStep[];
  readonly health?: HealthView;
  /** Filled in by the pipeline: the decision of the policy record, if one answered. */
  decision?: Decision;
  record?: PolicyRecord;
}

/**
 * Called for each answered query, for metrics; must not throw. A policy answer also passes the
 * endpoints its decision picked (for answers by region).
 */
export type QueryObserver = (query: Query, rcode: number, zone: string | null, policy?: string | null, endpoints?: readonly Endpoint[]) => void;

const IN = 1;

/** Meta and reserved query types we do not answer (RFC 6895 §3.1): NOTIMP. */
function isUnsupportedMeta(qtype: number): boolean {
  return qtype === 0 || (qtype >= 128 && qtype <= 254 && qtype !== RRType.AXFR && qtype !== RRType.IXFR);
}

function reply(query: Query, sections: Sections, ctx: QueryContext, opts: PipelineOptions, extendedRcode = 0): Buffer {
  const encoded = encodeResponse(query, sections);
  return finishResponse(query, encoded, payloadLimit(query, ctx.transport, opts.maxUdpPayload), 0, opts.maxUdpPayload, extendedRcode);
}

/**
 * Answers one DNS message. Returns null when no answer may be sent (not a query, or shorter
 * than a header); every other input, however malformed, gets a response.
 */
export function handleQuery(
  msg: Buffer,
  ctx: QueryContext,
  snapshot: Snapshot,
  opts: PipelineOptions = DEFAULT_PIPELINE_OPTIONS,
  observe?: QueryObserver,
  explain?: Explain,
): PipelineOutput {
  // 1. Decode.
  const query = parseQuery(msg);
  if (query === null) return null;
  const answerError = (rcode: number, extended = 0): Buffer => {
    observe?.(query, rcode, null);
    return reply(query, errorSections(rcode & 0x0f), ctx, opts, extended);
  };
  if (query.rcode !== Rcode.NOERROR) return answerError(query.rcode);

  // 2. Checks on the header and question.
  // RFC 1035 §4.1.1: opcodes we do not implement get NOTIMP.
  if (query.opcode !== Opcode.QUERY) return answerError(Rcode.NOTIMP);
  // RFC 6891 §6.1.3: an EDNS version we do not speak gets BADVERS with our version (0).
  if (query.edns && query.edns.version !== 0) return answerError(Rcode.BADVERS, Rcode.BADVERS);
  if (query.qclass !== IN) return answerError(Rcode.REFUSED);
  const qtype = query.qtype;
  if (qtype === RRType.OPT) return answerError(Rcode.FORMERR); // RFC 6891 §6.1.1: OPT is not a question
  if (isUnsupportedMeta(qtype)) return answerError(Rcode.NOTIMP);

  // 3. Zone transfers.
  if (qtype === RRType.AXFR || qtype === RRType.IXFR) return transfer(query, ctx, snapshot, opts, observe);

  // 4. The cache: answers that do not depend on the client are encoded once per snapshot; for a
  // name answered by a policy, the cache remembers where the lookup ended instead.
  const cacheKey = opts.useCache ? `${qtype}|${query.qkey}` : '';
  const limit = payloadLimit(query, ctx.transport, opts.maxUdpPayload);
  if (opts.useCache) {
    const hit = snapshot.cache.get(cacheKey);
    if (hit instanceof PolicyRoute) return answerPolicy(query, hit, ctx, snapshot, opts, limit, observe, explain);
    if (hit) {
      observe?.(query, hit.full[3]! & 0x0f, hit.zone ?? null);
      return finishResponse(query, hit, limit, 0, opts.maxUdpPayload);
    }
  }

  // 5. Find the zone; a name in none of ours is REFUSED (RFC 1034 §4.3.2 step 2, as BIND and Knot do).
  const zone = snapshot.catalog.findZone(query.qkey);
  if (!zone) return answerError(Rcode.REFUSED);

  // 6. Look the name up and build the sections.
  const result = lookup(zone, query.qkey, qtype);
  if (result.kind === 'answer' && result.policy) {
    const route = new PolicyRoute(result);
    if (opts.useCache) snapshot.cache.set(cacheKey, route);
    return answerPolicy(query, route, ctx, snapshot, opts, limit, observe, explain);
  }
  const sections = buildSections(result);

  // 7. Encode (and remember), then finish for this query.
  const encoded = encodeResponse(query, sections);
  encoded.zone = zone.origin;
  if (opts.useCache) snapshot.cache.set(cacheKey, encoded);
  observe?.(query, sections.rcode, zone.origin);
  return finishResponse(query, encoded, limit, 0, opts.maxUdpPayload);
}

/** The client a policy decides for: the ECS subnet when sent (RFC 7871 §7.1.1), else the source address. */
export function clientOf(query: Query, ctx: QueryContext): Client {
  const ecs = query.edns?.clientSubnet;
  return ecs ? clientFromEcs(ecs.family, ecs.sourcePrefix, ecs.address) : clientFromAddress(ctx.remoteAddress);
}

/**
 * 6b. A policy answer: decide for this client, then serve the encoded answer for that decision
 * (encoded once per distinct decision and snapshot), with the decision's ECS scope. The scope
 * is 0 when the decision did not depend on the client (RFC 7871 §7.2.1).
 */
function answerPolicy(
  query: Query,
  route: PolicyRoute,
  ctx: QueryContext,
  snapshot: Snapshot,
  opts: PipelineOptions,
  limit: number,
  observe?: QueryObserver,
  explain?: Explain,
): Buffer {
  const { result } = route;
  const record = result.policy!.record;
  const latency = result.zone.policies?.latency ?? snapshot.live.latency;
  const decision = explain
    ? decide(record, clientOf(query, ctx), explain.health ?? snapshot.health, { latency, trace: explain.trace })
    : decide(record, clientOf(query, ctx), snapshot.health, { latency });
  if (explain) {
    explain.decision = decision;
    explain.record = record;
  }
  const encode = (): EncodedResponse => encodeResponse(query, policySections(result, decision));
  const encoded = opts.useCache && !explain ? route.answer(decision.endpoints, encode) : encode();
  observe?.(query, Rcode.NOERROR, result.zone.origin, record.tree.kind, decision.endpoints);
  return finishResponse(query, encoded, limit, decision.scope, opts.maxUdpPayload);
}

/** True when `address` may transfer a zone guarded by `acl`. */
function allowed(acl: BlockList, address: string): boolean {
  const plain = address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
  return acl.check(plain, plain.includes(':') ? 'ipv6' : 'ipv4');
}

/**
 * AXFR (RFC 5936) and IXFR (RFC 1995). IXFR is answered with the whole zone in AXFR form, which
 * RFC 1995 §4 allows. Over UDP, AXFR is FORMERR (RFC 5936 §4.2 defines it for TCP only) and IXFR
 * gets just the SOA, which tells the client to retry over TCP (RFC 1995 §2).
 */
function transfer(query: Query, ctx: QueryContext, snapshot: Snapshot, opts: PipelineOptions, observe?: QueryObserver): PipelineOutput {
  const zone = snapshot.catalog.get(query.qkey);
  const fail = (rcode: number): Buffer => {
    observe?.(query, rcode, zone?.origin ?? null);
    return reply(query, errorSections(rcode), ctx, opts);
  };
  if (!zone) return fail(Rcode.NOTAUTH); // RFC 5936 §2.2.1: not authoritative for that zone
  if (!allowed(zone.transferAcl, ctx.remoteAddress)) return fail(Rcode.REFUSED);
  const soa: WireRRset = zone.soa;
  if (ctx.transport === 'udp') {
    if (query.qtype === RRType.AXFR) return fail(Rcode.FORMERR);
    observe?.(query, Rcode.NOERROR, zone.origin);
    return reply(query, { rcode: Rcode.NOERROR, aa: true, answer: [soa], authority: [], additional: [], additionalOptional: true }, ctx, opts);
  }
  observe?.(query, Rcode.NOERROR, zone.origin);
  // Policy records go out as the answer for a client with no location (secondaries cannot run
  // policies); their TTL is short, and the primary's answers stay the authoritative ones.
  const policySets: WireRRset[] = [];
  for (const rec of zone.policies?.records ?? []) {
    const set = policyRRset(rec.owner, rec, decide(rec, UNKNOWN_CLIENT, snapshot.health, { latency: zone.policies?.latency ?? snapshot.live.latency }));
    if (set && !(set.type === RRType.CNAME && zone.nodes.get(rec.owner)!.rrsets.size > 0)) policySets.push(set);
  }
  const messages = encodeTransfer(query, [...zone.rrsets, ...policySets, soa]);
  // Each message carries OPT when the query did (RFC 5936 §2.2.5 allows it).
  return messages.map((m) => finishResponse(query, { full: m, reduced: null, truncated: m }, 65535, 0, opts.maxUdpPayload));
}
