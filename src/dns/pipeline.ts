/**
 * @module dns/pipeline
 * The query path, step by step, in one function (docs/query-path.md draws it):
 *
 *   decode (proto/wire) → checks → cookies (dns/cookies) → cache → find zone (zone/catalog)
 *     → lookup (zone/lookup) → sections (dns/answer) → sign (dns/sign, DO=1 to a signed zone)
 *     → encode (proto/wire) → send: rate limit over UDP (dns/rrl) → finish: ID, question, OPT, size limit
 *
 * Zone transfers (AXFR, IXFR) branch off after the checks, to dns/transfer.ts.
 *
 * The transports (dns/udp.ts, dns/tcp.ts) hand bytes in and send what comes out. What every query
 * on a socket shares — where the snapshot comes from, the options, the metrics observer, the
 * simulator's hooks — is one {@link QueryEnv}, built once; per query only the message and who sent
 * it ({@link QueryContext}) change. The snapshot is read once, at the start of a query; nothing
 * here awaits. Only this module and dns/transfer.ts turn outcomes into rcodes.
 */
import { RRType } from '../proto/types.js';
import { parentKey } from '../proto/name.js';
import { answeredEndpoints, buildSections, errorSections, policyNodata, policySections } from './answer.js';
import { signSections, signerApexSet } from './sign.js';
import { signatureCounters } from '../dnssec/signer.js';
import { PolicyRoute, answerCacheOf } from './cache.js';
import { transfer } from './transfer.js';
import { decide } from '../policy/evaluate.js';
import { clientFromAddress, clientFromBytes, clientFromEcs, type Client } from '../policy/client.js';
import type { HealthView } from '../policy/health-view.js';
import type { Decision, Endpoint, PolicyRecord, TraceStep } from '../policy/types.js';
import {
  OPTION_TCP_KEEPALIVE,
  Opcode,
  Rcode,
  encodeReply,
  encodeResponse,
  finishResponse,
  parseQuery,
  payloadLimit,
  type Query,
  type EncodedResponse,
} from '../proto/wire.js';
import { addressOctets } from './client-address.js';
import type { CookieJar } from './cookies.js';
import { ERROR_RATE_KEY, rateKeyOf, Verdict, type ResponseRateLimiter } from './rrl.js';
import { lookup, type LookupResult } from '../zone/lookup.js';
import { signerFor, tablesFor, type Snapshot } from '../state/snapshot.js';

export type Transport = 'udp' | 'tcp';

/** Who asked, and how: the per-query values besides the message itself. */
export interface QueryContext {
  readonly transport: Transport;
  /** Source address of the packet or connection. */
  readonly remoteAddress: string;
  /** The same address as octets (IPv4 in the first four), when the transport has it so (dns/udp-batched.ts). */
  readonly remoteBytes?: { readonly family: 4 | 6; readonly bytes: Uint8Array } | undefined;
  /**
   * TCP: the idle timeout this connection has now, which edns-tcp-keepalive advertises (RFC 7828
   * §3.3.2: "the TIMEOUT value that is currently associated with the TCP session"); 0 asks the
   * client to close. Undefined: the option is not answered.
   */
  readonly tcpKeepaliveMs?: number;
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

/**
 * What the queries of one socket (or one simulator request) share, built once: the per-query
 * values are the message and its {@link QueryContext}.
 */
export interface QueryEnv {
  /** Where each query takes its snapshot, once, at its start: the node's SnapshotHolder, or one fixed snapshot. */
  readonly snapshots: { readonly current: Snapshot };
  readonly options: PipelineOptions;
  readonly observe?: QueryObserver | undefined;
  readonly explain?: Explain | undefined;
  /** DNS Cookies (dns/cookies.ts); without it a COOKIE option is ignored (RFC 7873 §5.2.1 as for a server without cookies). */
  readonly cookies?: CookieJar | undefined;
  /** Response rate limiting of UDP answers (dns/rrl.ts); without it nothing is limited. */
  readonly rrl?: ResponseRateLimiter | undefined;
}

const IN = 1;

/** Meta and reserved query types we do not answer (RFC 6895 §3.1): NOTIMP. */
function isUnsupportedMeta(qtype: number): boolean {
  return qtype === 0 || (qtype >= 128 && qtype <= 254 && qtype !== RRType.AXFR && qtype !== RRType.IXFR);
}

/** An error response (no records, just the rcode), observed. */
function answerError(query: Query, ctx: QueryContext, env: QueryEnv, rcode: number, extended = 0): Buffer | null {
  env.observe?.(query, rcode, null);
  return send(query, ctx, env, encodeResponse(query, errorSections(rcode & 0x0f)), ERROR_RATE_KEY, 0, extended);
}

/**
 * Answers one DNS message. Returns null when no answer may be sent (not a query, or shorter
 * than a header) or response rate limiting drops it; every other input, however malformed, gets
 * a response.
 */
export function handleQuery(msg: Buffer, ctx: QueryContext, env: QueryEnv): PipelineOutput {
  const snapshot = env.snapshots.current;
  const opts = env.options;
  // 1. Decode.
  const query = parseQuery(msg);
  if (query === null) return null;
  if (query.rcode !== Rcode.NOERROR) return answerError(query, ctx, env, query.rcode);

  // 2. Checks on the header and question.
  // RFC 1035 §4.1.1: opcodes we do not implement get NOTIMP.
  if (query.opcode !== Opcode.QUERY) return answerError(query, ctx, env, Rcode.NOTIMP);
  // RFC 6891 §6.1.3: an EDNS version we do not speak gets BADVERS with our version (0).
  if (query.edns && query.edns.version !== 0) return answerError(query, ctx, env, Rcode.BADVERS, Rcode.BADVERS);
  // 2b. The EDNS options the reply carries: a COOKIE (dns/cookies.ts), edns-tcp-keepalive.
  if (query.edns) {
    const refused = replyOptions(query, ctx, env);
    if (refused !== Rcode.NOERROR) return answerError(query, ctx, env, refused);
  }
  if (query.qclass !== IN) return answerError(query, ctx, env, Rcode.REFUSED);
  const qtype = query.qtype;
  if (qtype === RRType.OPT) return answerError(query, ctx, env, Rcode.FORMERR); // RFC 6891 §6.1.1: OPT is not a question
  if (isUnsupportedMeta(qtype)) return answerError(query, ctx, env, Rcode.NOTIMP);

  // 3. Zone transfers (dns/transfer.ts).
  if (qtype === RRType.AXFR || qtype === RRType.IXFR) return transfer(query, ctx, env, snapshot);

  // 4. The cache: answers that do not depend on the client are encoded once per snapshot; for a
  // name answered by a policy, the cache remembers where the lookup ended instead. DO=1 (and CO)
  // queries have entries of their own: their answers carry signatures (RFC 4035 §3.1).
  const dnssecOk = query.edns?.dnssecOk === true;
  const cache = opts.useCache ? answerCacheOf(snapshot) : null;
  const cacheKey = cache ? (dnssecOk ? `${qtype}|${query.qkey}|d${query.edns!.compactOk ? 'c' : ''}` : `${qtype}|${query.qkey}`) : '';
  if (cache) {
    const hit = cache.get(cacheKey);
    if (hit instanceof PolicyRoute) return answerPolicy(query, ctx, env, snapshot, hit);
    // A signed answer whose signatures are due to be re-made is encoded afresh (dnssec/signer.ts).
    if (hit && (hit.refreshAt === undefined || Date.now() < hit.refreshAt)) {
      if (hit.signatures) signatureCounters.cached += hit.signatures;
      env.observe?.(query, hit.full[3]! & 0x0f, hit.zone ?? null);
      return send(query, ctx, env, hit, hit.rateKey ?? ERROR_RATE_KEY, 0);
    }
  }

  // 5. Find the zone; a name in none of ours is REFUSED (RFC 1034 §4.3.2 step 2, as BIND and Knot do).
  let zone = snapshot.catalog.findZone(query.qkey);
  if (!zone) return answerError(query, ctx, env, Rcode.REFUSED);
  // RFC 4035 §3.1.4.1: a DS lives in the parent; a server for both sides answers it from the parent.
  if (qtype === RRType.DS && zone.origin === query.qkey && zone.origin !== '') {
    const parent = snapshot.catalog.findZone(parentKey(zone.origin)!);
    if (parent) zone = parent;
  }

  // 6. Look the name up and build the sections. A signed zone's apex also has the DNSKEY, CDS
  // and CDNSKEY RRsets its signer makes (RFC 4034 §2, RFC 7344 §3), whatever the DO bit.
  const signer = signerFor(snapshot, zone);
  const apexSet = signer && query.qkey === zone.origin ? signerApexSet(zone, signer, qtype) : undefined;
  const result: LookupResult = apexSet ? { kind: 'answer', zone, records: [{ owner: zone.origin, set: apexSet }] } : lookup(zone, query.qkey, qtype);
  if (result.kind === 'answer' && result.policy) {
    const route = new PolicyRoute(result);
    cache?.set(cacheKey, route);
    return answerPolicy(query, ctx, env, snapshot, route);
  }
  let sections = buildSections(result);
  // 6c. Sign (dns/sign.ts) when the zone is signed and the query asked (RFC 4035 §3.1).
  const signed = signer && dnssecOk ? signSections(result, sections, signer, query.edns!.compactOk) : null;
  if (signed) sections = signed;

  // 7. Encode (and remember), then finish for this query.
  const encoded = encodeResponse(query, sections);
  encoded.zone = zone.origin;
  if (signed) {
    encoded.refreshAt = signed.refreshAt;
    encoded.signatures = signed.signatures;
  }
  encoded.rateKey = rateKeyOf(result, qtype);
  cache?.set(cacheKey, encoded);
  env.observe?.(query, sections.rcode, zone.origin);
  return send(query, ctx, env, encoded, encoded.rateKey, 0);
}

/** The client a policy decides for: the ECS subnet when sent (RFC 7871 §7.1.1), else the source address. */
export function clientOf(query: Query, ctx: QueryContext): Client {
  const ecs = query.edns?.clientSubnet;
  if (ecs) return clientFromEcs(ecs.family, ecs.sourcePrefix, ecs.address);
  const raw = ctx.remoteBytes;
  return raw ? clientFromBytes(raw.family, raw.bytes) : clientFromAddress(ctx.remoteAddress);
}

/**
 * 6b. A policy answer: decide for this client, then serve the encoded answer for that decision
 * (encoded once per distinct decision and snapshot), with the decision's ECS scope. The scope
 * is 0 when the decision did not depend on the client (RFC 7871 §7.2.1).
 */
function answerPolicy(query: Query, ctx: QueryContext, env: QueryEnv, snapshot: Snapshot, route: PolicyRoute): Buffer | null {
  const { result } = route;
  const { explain, options: opts } = env;
  const record = result.policy!.record;
  const { latency, geo } = tablesFor(snapshot, result.zone);
  const decision = explain
    ? decide(record, clientOf(query, ctx), explain.health ?? snapshot.health, { latency, geo, trace: explain.trace })
    : decide(record, clientOf(query, ctx), snapshot.health, { latency, geo });
  if (explain) {
    explain.decision = decision;
    explain.record = record;
  }
  const signer = query.edns?.dnssecOk ? signerFor(snapshot, result.zone) : undefined;
  const encode = (): EncodedResponse => {
    const sections = policySections(result, decision);
    if (!signer) return encodeResponse(query, sections);
    // 6c. Signed as the RRset this client receives; a serve_none NODATA lacks the record's type.
    const served = answeredEndpoints(decision).length > 0;
    const signed = signSections(served ? result : policyNodata(result), sections, signer, query.edns!.compactOk, {
      storedOwner: record.owner,
      owner: result.policy!.owner,
      lacking: served ? undefined : record.rrtype,
    });
    const out = encodeResponse(query, signed);
    out.refreshAt = signed.refreshAt;
    out.signatures = signed.signatures;
    return out;
  };
  const encoded = opts.useCache && !explain ? route.answer(decision.endpoints, encode) : encode();
  env.observe?.(query, Rcode.NOERROR, result.zone.origin, record.tree.kind, decision.endpoints);
  return send(query, ctx, env, encoded, rateKeyOf(result, query.qtype), decision.scope);
}

/**
 * 2b. The EDNS options of the reply (they go into {@link Query.replyOptions}, which
 * finishResponse writes into the OPT record): the COOKIE option (dns/cookies.ts, RFC 7873 §5.2),
 * and over TCP edns-tcp-keepalive with this connection's idle timeout (RFC 7828 §3.3.2; never over
 * UDP). Returns FORMERR for a keepalive option that carries a TIMEOUT (RFC 7828 §3.2.1: a client
 * sends it empty), else NOERROR.
 */
function replyOptions(query: Query, ctx: QueryContext, env: QueryEnv): number {
  const edns = query.edns!;
  let cookie: Buffer | null = null;
  if (edns.cookie !== null && env.cookies) {
    const judged = env.cookies.judge(query, addressOctets(ctx.remoteAddress));
    cookie = judged.option;
    query.serverCookieValid = judged.verdict === 'valid';
  }
  let keepalive: Buffer | null = null;
  if (edns.tcpKeepalive !== null && ctx.transport === 'tcp') {
    if (edns.tcpKeepalive !== 0) {
      query.replyOptions = cookie;
      return Rcode.FORMERR;
    }
    if (ctx.tcpKeepaliveMs !== undefined) {
      keepalive = Buffer.allocUnsafe(6);
      keepalive.writeUInt16BE(OPTION_TCP_KEEPALIVE, 0);
      keepalive.writeUInt16BE(2, 2);
      // RFC 7828 §3.1: TIMEOUT in units of 100 milliseconds.
      keepalive.writeUInt16BE(Math.min(0xffff, Math.floor(ctx.tcpKeepaliveMs / 100)), 4);
    }
  }
  query.replyOptions = cookie && keepalive ? Buffer.concat([cookie, keepalive]) : (cookie ?? keepalive);
  return Rcode.NOERROR;
}

/**
 * 8. Send. Over UDP, unless the query carried a valid server cookie, response rate limiting
 * (dns/rrl.ts) counts the answer and may hold it back: dropped (null), or slipped — BADCOOKIE with
 * a fresh server cookie to a client that sent a cookie (RFC 7873 §5.2.3), else the truncated form
 * (TC=1, no records) so the client retries over TCP. Otherwise the answer is finished for this
 * query: ID, question, OPT, the largest form that fits.
 */
function send(query: Query, ctx: QueryContext, env: QueryEnv, encoded: EncodedResponse, rateKey: string, scope: number, extended = 0): Buffer | null {
  const max = env.options.maxUdpPayload;
  const rrl = env.rrl;
  if (rrl && ctx.transport === 'udp' && !query.serverCookieValid) {
    const verdict = rrl.check(addressOctets(ctx.remoteAddress), rateKey, Date.now());
    if (verdict === Verdict.DROP) return null;
    if (verdict === Verdict.SLIP) {
      if (query.edns?.cookie && env.cookies) {
        env.cookies.counts.badcookie++;
        return encodeReply(query, errorSections(Rcode.BADCOOKIE & 0x0f), 'udp', max, Rcode.BADCOOKIE);
      }
      return finishResponse(query, encoded, 0, scope, max); // a limit of 0 fits only the truncated form
    }
  }
  return finishResponse(query, encoded, payloadLimit(query, ctx.transport, max), scope, max, extended);
}
