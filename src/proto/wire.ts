/**
 * @module proto/wire
 * The DNS wire format on the query path: parse a query's header, question and OPT record
 * straight from the bytes (no object tree per query), and encode responses with owner-name
 * compression. Called by dns/pipeline.ts; the answer cache in dns/cache.ts stores what
 * {@link encodeResponse} produces and {@link finishResponse} patches it per query.
 *
 * The asking side too, so that product code has one DNS codec: {@link encodeQuery} (a query or a
 * NOTIFY, with an optional OPT and Client Subnet option) and {@link parseResponse}, used by the
 * `dns` health check, the simulator (admin/routes/simulate.ts), drills (drill/runner.ts) and
 * NOTIFY (dns/notify.ts).
 *
 * A malformed query is a value here ({@link Query.rcode} = FORMERR), never an exception.
 */
import { labelToKey, labelsToKey, labelsToWire, splitKey, keyToLabels } from './name.js';
import { RRType } from './types.js';

export const Rcode = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  /** RFC 2136 §2.2. */
  YXDOMAIN: 6,
  YXRRSET: 7,
  NXRRSET: 8,
  NOTAUTH: 9,
  NOTZONE: 10,
  /** Extended rcode 16 (RFC 6891 §9): upper 8 bits in the OPT TTL, lower 4 in the header. */
  BADVERS: 16,
  /** Extended rcode 23 (RFC 7873 §8): the query's server cookie is missing or not valid. */
  BADCOOKIE: 23,
} as const;

export const Opcode = { QUERY: 0, IQUERY: 1, STATUS: 2, NOTIFY: 4, UPDATE: 5 } as const;

/** RFC 1035 §4.2.1: without EDNS a UDP message is at most 512 octets. */
export const CLASSIC_UDP_SIZE = 512;
/** RFC 7766 §8 / RFC 1035 §4.2.2: a TCP message is at most 65535 octets. */
export const MAX_TCP_MESSAGE = 65535;

/** RFC 7871 §6: EDNS option code 8 is Client Subnet. */
const OPTION_ECS = 8;
/** RFC 7873 §4: EDNS option code 10 is COOKIE. */
export const OPTION_COOKIE = 10;
/** RFC 7828 §3.1: EDNS option code 11 is edns-tcp-keepalive. */
export const OPTION_TCP_KEEPALIVE = 11;

/** The client subnet from an ECS option (RFC 7871 §6), as sent. */
export interface ClientSubnet {
  /** 1 = IPv4, 2 = IPv6 (RFC 7871 §6, IANA address family numbers). */
  readonly family: 1 | 2;
  readonly sourcePrefix: number;
  /** The address bytes as sent: exactly ceil(sourcePrefix / 8) octets. */
  readonly address: Buffer;
}

/** The EDNS(0) parameters of a query (RFC 6891 §6.1.3). */
export interface Edns {
  /** Requestor's UDP payload size, as sent. */
  readonly udpSize: number;
  readonly version: number;
  /** DNSSEC OK bit (RFC 3225 §3); copied into the response. */
  readonly dnssecOk: boolean;
  /** Compact Answers OK (RFC 9824 §4, EDNS flag bit 1): a compact NXDOMAIN may keep its rcode. */
  readonly compactOk: boolean;
  readonly clientSubnet: ClientSubnet | null;
  /**
   * The COOKIE option's data as sent (RFC 7873 §4): an 8-octet client cookie, then a server cookie
   * of 8 to 32 octets or none; any other length makes the query FORMERR (RFC 7873 §5.2.2).
   */
  readonly cookie: Buffer | null;
  /** The length of the edns-tcp-keepalive option as sent (RFC 7828 §3.1: 0 in a query), or null without one. */
  readonly tcpKeepalive: number | null;
}

/** A parsed query. When `rcode` is not NOERROR the pipeline answers with that error. */
export interface Query {
  readonly msg: Buffer;
  readonly id: number;
  /** Header byte 2: QR, opcode, AA, TC, RD. */
  readonly flags1: number;
  /** Header byte 3: RA, Z, AD, CD, rcode. */
  readonly flags2: number;
  readonly opcode: number;
  /** End of the question section (12 + name + 4), or 12 when there is no usable question. */
  readonly questionEnd: number;
  /** Lowercase key of the query name (see proto/name.ts). */
  readonly qkey: string;
  readonly qtype: number;
  readonly qclass: number;
  readonly edns: Edns | null;
  /** NOERROR when the query is well-formed; otherwise the rcode to answer with. */
  readonly rcode: number;
  /** Why the query was refused as malformed, for logs and tests. */
  readonly problem: string | null;
  /**
   * EDNS options (each with its code and length) the response's OPT record carries besides the
   * Client Subnet echo: the COOKIE (RFC 7873 §5.2) and edns-tcp-keepalive (RFC 7828 §3.3.2)
   * options the pipeline sets for this query before it finishes the response. Null: none.
   */
  replyOptions: Buffer | null;
  /** Set by the pipeline: the query's server cookie is one this server made (RFC 7873 §5.2.5). */
  serverCookieValid: boolean;
}

type MutableQuery = { -readonly [K in keyof Query]: Query[K] };

/**
 * Skips a possibly compressed name (RFC 1035 §4.1.4) starting at `off`, checking that every
 * pointer points backwards to earlier data, so that neither loops nor forward references are
 * accepted. Returns the offset after the name, or -1 when it is malformed.
 */
function skipName(msg: Buffer, off: number): number {
  let wireLen = 0;
  for (;;) {
    if (off >= msg.length) return -1;
    const len = msg[off]!;
    if (len === 0) return off + 1;
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (off + 1 >= msg.length) return -1;
      const target = ((len & 0x3f) << 8) | msg[off + 1]!;
      if (target >= off) return -1; // forward pointer or pointer to itself
      // The pointed-to name was not necessarily parsed, so check it too, strictly backwards.
      if (!checkPointedName(msg, target, off, wireLen)) return -1;
      return off + 2;
    }
    if (kind !== 0) return -1; // 0x40 and 0x80 label types are not defined (RFC 6891 §5)
    wireLen += len + 1;
    if (wireLen + 1 > 255) return -1;
    off += len + 1;
  }
}

function checkPointedName(msg: Buffer, off: number, limit: number, wireLen: number): boolean {
  for (;;) {
    if (off >= limit) return false;
    const len = msg[off]!;
    if (len === 0) return true;
    if ((len & 0xc0) === 0xc0) {
      if (off + 1 >= limit) return false;
      const target = ((len & 0x3f) << 8) | msg[off + 1]!;
      if (target >= off) return false;
      limit = off;
      off = target;
      continue;
    }
    if ((len & 0xc0) !== 0) return false;
    wireLen += len + 1;
    if (wireLen + 1 > 255) return false;
    off += len + 1;
  }
}

/**
 * Parses a query. Returns null for messages that get no answer at all: shorter than a header,
 * or a response (QR=1), which must never be answered lest two servers loop (RFC 1035 §4.1.1).
 */
export function parseQuery(msg: Buffer): Query | null {
  if (msg.length < 12) return null;
  const flags1 = msg[2]!;
  if (flags1 & 0x80) return null;
  const q: MutableQuery = {
    msg,
    id: msg.readUInt16BE(0),
    flags1,
    flags2: msg[3]!,
    opcode: (flags1 >> 3) & 0x0f,
    questionEnd: 12,
    qkey: '',
    qtype: 0,
    qclass: 0,
    edns: null,
    rcode: Rcode.NOERROR,
    problem: null,
    replyOptions: null,
    serverCookieValid: false,
  };
  const fail = (problem: string): Query => {
    q.rcode = Rcode.FORMERR;
    q.problem = problem;
    return q;
  };

  const qdcount = msg.readUInt16BE(4);
  const ancount = msg.readUInt16BE(6);
  const nscount = msg.readUInt16BE(8);
  const arcount = msg.readUInt16BE(10);
  // RFC 9619: a query with QDCOUNT other than 1 is malformed.
  if (qdcount !== 1) return fail(`QDCOUNT is ${qdcount}`);

  // The question name. Nothing precedes it but the header, so any pointer here is malformed.
  let off = 12;
  let key = '';
  let wireLen = 1;
  for (;;) {
    if (off >= msg.length) return fail('question name runs past the end');
    const len = msg[off]!;
    if (len === 0) {
      off += 1;
      break;
    }
    if (len > 63) return fail(len >= 0xc0 ? 'compression pointer in the question name' : 'label over 63 octets');
    wireLen += len + 1;
    if (wireLen > 255) return fail('name over 255 octets');
    const start = off + 1;
    const end = start + len;
    if (end > msg.length) return fail('question name runs past the end');
    let plain = true;
    for (let i = start; i < end; i++) {
      const b = msg[i]!;
      if (b <= 0x20 || b >= 0x7f || b === 0x2e || b === 0x5c) {
        plain = false;
        break;
      }
    }
    const label = plain ? msg.toString('latin1', start, end).toLowerCase() : labelToKey(msg, start, end);
    key = key === '' ? label : key + '.' + label;
    off = end;
  }
  if (off + 4 > msg.length) return fail('question runs past the end');
  q.qkey = key;
  q.qtype = msg.readUInt16BE(off);
  q.qclass = msg.readUInt16BE(off + 2);
  off += 4;
  q.questionEnd = off;

  // Answer and authority sections of a query are skipped, but must be well-formed.
  for (let i = 0; i < ancount + nscount; i++) {
    off = skipName(msg, off);
    if (off < 0 || off + 10 > msg.length) return fail('malformed record in answer or authority section');
    off += 10 + msg.readUInt16BE(off + 8);
    if (off > msg.length) return fail('record data runs past the end');
  }
  for (let i = 0; i < arcount; i++) {
    const nameStart = off;
    off = skipName(msg, off);
    if (off < 0 || off + 10 > msg.length) return fail('malformed record in additional section');
    const type = msg.readUInt16BE(off);
    const rdlen = msg.readUInt16BE(off + 8);
    const rdStart = off + 10;
    off = rdStart + rdlen;
    if (off > msg.length) return fail('record data runs past the end');
    if (type !== RRType.OPT) continue;
    // RFC 6891 §6.1.1: one OPT at most, owned by the root.
    if (q.edns) return fail('more than one OPT record');
    if (off - rdlen - 10 - nameStart !== 1 || msg[nameStart] !== 0) return fail('OPT owner is not the root');
    const edns = parseOpt(msg, rdStart - 8, rdStart, off);
    if (typeof edns === 'string') return fail(edns);
    q.edns = edns;
  }
  // RFC 1035 §4.1: the message is exactly its sections; trailing octets make it malformed.
  if (off !== msg.length) return fail('trailing octets after the message');
  return q;
}

/** Parses the OPT record's fixed part and options; returns an error string when malformed. */
function parseOpt(msg: Buffer, fixed: number, rdStart: number, rdEnd: number): Edns | string {
  const udpSize = msg.readUInt16BE(fixed);
  // TTL field: extended rcode (8), version (8), DO + Z (16) (RFC 6891 §6.1.3).
  const version = msg[fixed + 3]!;
  const dnssecOk = (msg[fixed + 4]! & 0x80) !== 0;
  const compactOk = (msg[fixed + 4]! & 0x40) !== 0;
  let clientSubnet: ClientSubnet | null = null;
  let cookie: Buffer | null = null;
  let tcpKeepalive: number | null = null;
  let off = rdStart;
  while (off < rdEnd) {
    if (off + 4 > rdEnd) return 'EDNS option header runs past the OPT record';
    const code = msg.readUInt16BE(off);
    const len = msg.readUInt16BE(off + 2);
    const start = off + 4;
    off = start + len;
    if (off > rdEnd) return 'EDNS option runs past the OPT record';
    if (code === OPTION_ECS) {
      if (clientSubnet) return 'more than one Client Subnet option';
      const ecs = parseEcs(msg, start, off);
      if (typeof ecs === 'string') return ecs;
      clientSubnet = ecs;
    } else if (code === OPTION_COOKIE) {
      if (cookie) return 'more than one COOKIE option';
      // RFC 7873 §5.2.2: shorter than a client cookie, between a client cookie and the shortest
      // server cookie (9 to 15 octets), or longer than the longest is malformed: FORMERR.
      if (len < 8 || (len > 8 && len < 16) || len > 40) return `COOKIE option of ${len} octets (RFC 7873 §5.2.2: 8, or 16 to 40)`;
      cookie = Buffer.from(msg.subarray(start, off));
    } else if (code === OPTION_TCP_KEEPALIVE) {
      tcpKeepalive = len;
    }
  }
  return { udpSize, version, dnssecOk, compactOk, clientSubnet, cookie, tcpKeepalive };
}

/**
 * Validates an ECS option. RFC 7871 §7.1.2: a query whose option is malformed — unknown family,
 * a source prefix longer than the address, address bytes that do not match the prefix, or a
 * non-zero scope prefix — is answered with FORMERR.
 */
function parseEcs(msg: Buffer, start: number, end: number): ClientSubnet | string {
  if (end - start < 4) return 'Client Subnet option shorter than 4 octets';
  const family = msg.readUInt16BE(start);
  const sourcePrefix = msg[start + 2]!;
  const scopePrefix = msg[start + 3]!;
  if (family !== 1 && family !== 2) return `Client Subnet family ${family} is not IPv4 or IPv6`;
  const maxPrefix = family === 1 ? 32 : 128;
  if (sourcePrefix > maxPrefix) return `Client Subnet source prefix ${sourcePrefix} is longer than the address`;
  if (scopePrefix !== 0) return 'Client Subnet scope prefix must be 0 in a query';
  const addrLen = end - start - 4;
  if (addrLen !== Math.ceil(sourcePrefix / 8)) return 'Client Subnet address length does not match its source prefix';
  if (addrLen > 0 && sourcePrefix % 8 !== 0) {
    // RFC 7871 §6: bits beyond the source prefix MUST be zero.
    const mask = 0xff >> (sourcePrefix % 8);
    if ((msg[end - 1]! & mask) !== 0) return 'Client Subnet address has bits set beyond its source prefix';
  }
  return { family, sourcePrefix, address: Buffer.from(msg.subarray(start + 4, end)) };
}

/**
 * All records of one owner and type: an RRset (RFC 2181 §5), as zones hold it and the encoder
 * writes it.
 */
export interface RRset {
  /** Owner key (lowercase). An owner equal to the query name is written as a pointer to it. */
  readonly owner: string;
  readonly type: number;
  readonly ttlSeconds: number;
  readonly rdatas: readonly Buffer[];
}

/** What a response carries besides the header fields copied from the query. */
export interface Sections {
  readonly rcode: number;
  /** Authoritative Answer (RFC 1035 §4.1.1). */
  readonly aa: boolean;
  readonly answer: readonly RRset[];
  readonly authority: readonly RRset[];
  readonly additional: readonly RRset[];
  /**
   * True when the additional section may be dropped to fit (RFC 2181 §9); false when its
   * records are required, like the glue of a referral (RFC 9471).
   */
  readonly additionalOptional: boolean;
}

/**
 * The encoded forms of one response, without OPT: the whole message, the message without its
 * additional section (when that may be dropped), and the truncated message (header and question
 * with TC=1, RFC 6891 §7 / RFC 7766 §5). The transport picks the largest that fits.
 */
export interface EncodedResponse {
  /** The zone the answer came from, for metrics of cached answers. */
  zone?: string;
  /** A signed answer: when its signatures are to be re-made (ms since the epoch; dns/sign.ts). */
  refreshAt?: number;
  /** A signed answer: how many signatures it carries (metrics of signatures served from cache). */
  signatures?: number;
  /** What response rate limiting counts the answer under (dns/rrl.ts `rateKeyOf`), for cached answers. */
  rateKey?: string;
  readonly full: Buffer;
  readonly reduced: Buffer | null;
  readonly truncated: Buffer;
}

/** A growable output buffer with the name-compression table of RFC 1035 §4.1.4. */
class Writer {
  buf: Buffer;
  len = 0;
  /** Suffix key → offset of a name already written there. */
  readonly #names = new Map<string, number>();

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  #ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  bytes(src: Uint8Array, start = 0, end = src.length): void {
    this.#ensure(end - start);
    this.buf.set(src.subarray(start, end), this.len);
    this.len += end - start;
  }

  u16(v: number): void {
    this.#ensure(2);
    this.buf.writeUInt16BE(v, this.len);
    this.len += 2;
  }

  u32(v: number): void {
    this.#ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.len);
    this.len += 4;
  }

  /** Registers a suffix written at `offset` (pointers reach only the first 16 KiB). */
  remember(suffix: string, offset: number): void {
    if (offset < 0x4000 && !this.#names.has(suffix)) this.#names.set(suffix, offset);
  }

  /** Writes a name (key), pointing at the longest suffix already written. */
  name(key: string): void {
    if (key === '') {
      this.bytes(ROOT);
      return;
    }
    const whole = this.#names.get(key);
    if (whole !== undefined) {
      this.u16(0xc000 | whole);
      return;
    }
    const parts = splitKey(key);
    const raw = keyToLabels(key);
    for (let i = 0; i < parts.length; i++) {
      const suffix = i === 0 ? key : parts.slice(i).join('.');
      const ptr = i === 0 ? undefined : this.#names.get(suffix);
      if (ptr !== undefined) {
        this.u16(0xc000 | ptr);
        return;
      }
      this.remember(suffix, this.len);
      const label = raw[i]!;
      this.#ensure(1 + label.length);
      this.buf[this.len++] = label.length;
      this.bytes(label);
    }
    this.bytes(ROOT);
  }

  rrset(set: RRset): void {
    for (const rdata of set.rdatas) {
      this.name(set.owner);
      this.u16(set.type);
      this.u16(1); // class IN
      this.u32(set.ttlSeconds);
      this.u16(rdata.length);
      this.bytes(rdata);
    }
  }

  take(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.len));
  }
}

const ROOT = Buffer.from([0]);

function countRecords(sets: readonly RRset[]): number {
  let n = 0;
  for (const s of sets) n += s.rdatas.length;
  return n;
}

/**
 * Encodes a response to `query` (without OPT; see {@link finishResponse}). The question is
 * copied as received, so names compressed against it carry the asker's case, and the ID and
 * flags are those of this query; a cached copy is re-patched per query.
 */
export function encodeResponse(query: Query, sections: Sections): EncodedResponse {
  const w = new Writer(512);
  const header = (rcode: number, counts: [number, number, number, number], tc: boolean): void => {
    w.len = 0;
    w.u16(query.id);
    // QR=1, opcode copied, AA, TC, RD copied (RFC 1035 §4.1.1); RA clear: no recursion here.
    w.bytes(
      Buffer.from([
        0x80 | (query.opcode << 3) | (sections.aa ? 0x04 : 0) | (tc ? 0x02 : 0) | (query.flags1 & 0x01),
        // CD copied (RFC 4035 §3.1.6's rule for the CD bit); AD clear; rcode low 4 bits.
        (query.flags2 & 0x10) | (rcode & 0x0f),
      ]),
    );
    for (const c of counts) w.u16(c);
  };
  const hasQuestion = query.questionEnd > 12;
  const qd = hasQuestion ? 1 : 0;

  header(sections.rcode, [qd, countRecords(sections.answer), countRecords(sections.authority), countRecords(sections.additional)], false);
  if (hasQuestion) {
    w.bytes(query.msg, 12, query.questionEnd);
    // The question's suffixes are compression targets.
    const parts = splitKey(query.qkey);
    let off = 12;
    for (let i = 0; i < parts.length; i++) {
      w.remember(i === 0 ? query.qkey : parts.slice(i).join('.'), off);
      off += 1 + query.msg[off]!;
    }
  }
  const afterQuestion = w.len;
  for (const s of sections.answer) w.rrset(s);
  for (const s of sections.authority) w.rrset(s);
  const beforeAdditional = w.len;
  for (const s of sections.additional) w.rrset(s);
  const full = w.take();

  let reduced: Buffer | null = null;
  if (sections.additional.length > 0 && sections.additionalOptional) {
    reduced = Buffer.from(full.subarray(0, beforeAdditional));
    reduced.writeUInt16BE(0, 10);
  }
  const truncated = Buffer.from(full.subarray(0, afterQuestion));
  truncated[2] = truncated[2]! | 0x02;
  truncated.writeUInt32BE(0, 6);
  truncated.writeUInt16BE(0, 10);
  return { full, reduced, truncated };
}

/** Response size limits (RFC 6891 §6.2.5): what the client offered, capped by our maximum. */
export function payloadLimit(query: Query, transport: 'udp' | 'tcp', maxUdpPayload: number): number {
  if (transport === 'tcp') return MAX_TCP_MESSAGE;
  if (!query.edns) return CLASSIC_UDP_SIZE;
  // RFC 6891 §6.2.3: values below 512 are treated as 512.
  return Math.min(Math.max(query.edns.udpSize, CLASSIC_UDP_SIZE), Math.max(maxUdpPayload, CLASSIC_UDP_SIZE));
}

/**
 * Encodes `sections` afresh as the response to `query` and finishes it for its transport: for
 * answers that are not cached (errors, a transfer's SOA over UDP).
 */
export function encodeReply(query: Query, sections: Sections, transport: 'udp' | 'tcp', maxUdpPayload: number, extendedRcode = 0): Buffer {
  return finishResponse(query, encodeResponse(query, sections), payloadLimit(query, transport, maxUdpPayload), 0, maxUdpPayload, extendedRcode);
}

/** Octets the OPT record of the response to `query` will take. */
export function optLength(query: Query): number {
  const ecs = query.edns?.clientSubnet;
  if (!query.edns) return 0;
  return 11 + (ecs ? 8 + ecs.address.length : 0) + (query.replyOptions?.length ?? 0);
}

/**
 * Picks the largest encoded form that fits `limit`, and writes the final message: this query's
 * ID, RD and CD bits and question bytes (so 0x20 mixed case is echoed exactly), and an OPT
 * record when the query had one (RFC 6891 §6.1.1), echoing the client subnet with `scopePrefix`
 * (RFC 7871 §7.2.1), then the query's {@link Query.replyOptions}.
 */
export function finishResponse(query: Query, encoded: EncodedResponse, limit: number, scopePrefix: number, maxUdpPayload: number, extendedRcode = 0): Buffer {
  const optLen = optLength(query);
  let body = encoded.full;
  if (body.length + optLen > limit) {
    body = encoded.reduced && encoded.reduced.length + optLen <= limit ? encoded.reduced : encoded.truncated;
  }
  const out = Buffer.allocUnsafe(body.length + optLen);
  body.copy(out, 0);
  out[0] = query.msg[0]!;
  out[1] = query.msg[1]!;
  out[2] = (out[2]! & 0xfe) | (query.flags1 & 0x01);
  out[3] = (out[3]! & 0xef) | (query.flags2 & 0x10);
  // Echo the question exactly as asked (0x20 case), when this message carries it.
  if (query.questionEnd > 12 && body.readUInt16BE(4) === 1) query.msg.copy(out, 12, 12, query.questionEnd);
  if (optLen > 0) {
    const edns = query.edns!;
    out.writeUInt16BE(out.readUInt16BE(10) + 1, 10);
    let o = body.length;
    out[o++] = 0; // root owner
    out.writeUInt16BE(RRType.OPT, o);
    out.writeUInt16BE(Math.max(maxUdpPayload, CLASSIC_UDP_SIZE), o + 2); // our UDP payload size
    out[o + 4] = extendedRcode >> 4;
    out[o + 5] = 0; // version 0
    // DO copied (RFC 3225 §3); CO echoed with it, as a signer that understands it (RFC 9824 §4).
    out[o + 6] = edns.dnssecOk ? 0x80 | (edns.compactOk ? 0x40 : 0) : 0;
    out[o + 7] = 0;
    out.writeUInt16BE(optLen - 11, o + 8);
    o += 10;
    const ecs = edns.clientSubnet;
    if (ecs) {
      out.writeUInt16BE(OPTION_ECS, o);
      out.writeUInt16BE(4 + ecs.address.length, o + 2);
      out.writeUInt16BE(ecs.family, o + 4);
      out[o + 6] = ecs.sourcePrefix;
      // RFC 7871 §7.2.1: the scope says how many leading bits the answer depended on, and may be
      // longer than the source ("not specific enough"); a /0 source opted out of tailoring
      // (RFC 7871 §7.1.2), so its answer holds for everyone: scope 0.
      out[o + 7] = ecs.sourcePrefix === 0 ? 0 : Math.min(scopePrefix, ecs.family === 1 ? 32 : 128);
      ecs.address.copy(out, o + 8);
      o += 8 + ecs.address.length;
    }
    query.replyOptions?.copy(out, o);
  }
  return out;
}

/**
 * Encodes a zone transfer (RFC 5936 §2.2): `sets` already starts and ends with the SOA. Records
 * are packed into messages of at most `maxMessageSize` octets; the question appears in the first
 * message only (RFC 5936 §2.2.1), and every message is compressed on its own.
 */
export function encodeTransfer(query: Query, sets: readonly RRset[], maxMessageSize = 16_384): Buffer[] {
  const messages: Buffer[] = [];
  let w: Writer | null = null;
  let count = 0;
  let estimate = 0;
  const flush = (): void => {
    if (!w) return;
    w.buf.writeUInt16BE(count, 6);
    messages.push(w.take());
    w = null;
  };
  const start = (): Writer => {
    const writer = new Writer(maxMessageSize + 512);
    writer.u16(query.id);
    writer.bytes(Buffer.from([0x80 | 0x04 | (query.flags1 & 0x01), 0]));
    const withQuestion = messages.length === 0 && query.questionEnd > 12;
    writer.u16(withQuestion ? 1 : 0);
    writer.u16(0);
    writer.u16(0);
    writer.u16(0);
    if (withQuestion) writer.bytes(query.msg, 12, query.questionEnd);
    count = 0;
    estimate = writer.len;
    return writer;
  };
  for (const set of sets) {
    for (const rdata of set.rdatas) {
      // An upper bound on the record's size: its owner uncompressed plus the fixed fields.
      const size = set.owner.length + 2 + 10 + rdata.length;
      if (w && estimate + size > maxMessageSize && count > 0) flush();
      if (!w) w = start();
      (w as Writer).rrset({ owner: set.owner, type: set.type, ttlSeconds: set.ttlSeconds, rdatas: [rdata] });
      estimate += size;
      count++;
    }
  }
  flush();
  return messages;
}

// ---------------------------------------------------------------------------------------------
// The asking side: a query out, a response in (the `dns` health check, checks/dns.ts; the
// simulator, admin/routes/simulate.ts; drills, drill/runner.ts; NOTIFY, dns/notify.ts)
// ---------------------------------------------------------------------------------------------

/** The mnemonic of an rcode (RFC 1035 §4.1.1, RFC 2136 §2.2, RFC 6891 §9), or `RCODEnnn` for one without. */
export function rcodeName(rcode: number): string {
  for (const [name, value] of Object.entries(Rcode)) if (value === rcode) return name;
  return `RCODE${rcode}`;
}

/** A query (or NOTIFY request) to send. */
export interface OutgoingQuery {
  /** Message ID; the caller picks it at random (RFC 5452 §9.2). */
  readonly id: number;
  /** Key of the name asked for (see proto/name.ts). */
  readonly qkey: string;
  readonly qtype: number;
  /** Default IN. */
  readonly qclass?: number;
  /** Default {@link Opcode.QUERY}; {@link Opcode.NOTIFY} for RFC 1996 §3.7. */
  readonly opcode?: number;
  /** Authoritative Answer bit; a NOTIFY sets it (RFC 1996 §4's examples). Default false. */
  readonly aa?: boolean;
  /** Recursion Desired (RFC 1035 §4.1.1). Default false. */
  readonly rd?: boolean;
  /** With a size, the query carries an OPT record offering it (RFC 6891 §6.1.2); else none. */
  readonly udpSize?: number;
  /** A Client Subnet option in the OPT record (RFC 7871 §6); needs {@link udpSize}. */
  readonly clientSubnet?: ClientSubnet;
  /** The DNSSEC OK bit (RFC 3225 §3); needs {@link udpSize}. Default false. */
  readonly dnssecOk?: boolean;
  /** A COOKIE option (RFC 7873 §4: the 8-octet client cookie, then the server's if known); needs {@link udpSize}. */
  readonly cookie?: Buffer;
  /** Records for the answer section, e.g. the SOA a NOTIFY may carry (RFC 1996 §3.7). Default none. */
  readonly answer?: readonly RRset[];
}

/**
 * Encodes a query: the header (RFC 1035 §4.1.1: the opcode, default QUERY, QDCOUNT 1), the
 * question (§4.1.2, uncompressed), the answer records when given (owners compressed against the
 * question, §4.1.4), and an OPT record when {@link OutgoingQuery.udpSize} is given, with a Client
 * Subnet option when {@link OutgoingQuery.clientSubnet} is (RFC 7871 §6: FAMILY, SOURCE PREFIX,
 * SCOPE PREFIX 0, the address in ceil(SOURCE / 8) octets) and a COOKIE option when
 * {@link OutgoingQuery.cookie} is (RFC 7873 §4). Without OPT the answer over UDP is at
 * most 512 octets (RFC 1035 §4.2.1).
 */
export function encodeQuery(q: OutgoingQuery): Buffer {
  const ecs = q.clientSubnet;
  const cookie = q.cookie;
  if (ecs && q.udpSize === undefined) throw new Error('a Client Subnet option travels in an OPT record: give udpSize');
  if (cookie && q.udpSize === undefined) throw new Error('a COOKIE option travels in an OPT record: give udpSize');
  if (ecs && ecs.address.length !== Math.ceil(ecs.sourcePrefix / 8))
    throw new Error('Client Subnet address must be ceil(sourcePrefix / 8) octets (RFC 7871 §6)');
  const answer = q.answer ?? [];
  const w = new Writer(64);
  w.u16(q.id);
  w.bytes(Buffer.from([(((q.opcode ?? Opcode.QUERY) & 0x0f) << 3) | (q.aa ? 0x04 : 0) | (q.rd ? 0x01 : 0), 0]));
  w.u16(1);
  w.u16(countRecords(answer));
  w.u16(0);
  w.u16(q.udpSize === undefined ? 0 : 1);
  w.name(q.qkey);
  w.u16(q.qtype);
  w.u16(q.qclass ?? 1);
  for (const set of answer) w.rrset(set);
  if (q.udpSize !== undefined) {
    w.bytes(ROOT);
    w.u16(RRType.OPT);
    w.u16(q.udpSize);
    w.u32(q.dnssecOk ? 0x8000 : 0); // extended rcode 0, version 0, DO (RFC 6891 §6.1.3, RFC 3225 §3)
    w.u16((ecs ? 8 + ecs.address.length : 0) + (cookie ? 4 + cookie.length : 0));
    if (ecs) {
      w.u16(OPTION_ECS);
      w.u16(4 + ecs.address.length);
      w.u16(ecs.family);
      w.bytes(Buffer.from([ecs.sourcePrefix, 0])); // SCOPE PREFIX-LENGTH 0 in a query (RFC 7871 §6)
      w.bytes(ecs.address);
    }
    if (cookie) {
      w.u16(OPTION_COOKIE);
      w.u16(cookie.length);
      w.bytes(cookie);
    }
  }
  return w.take();
}

/** The Client Subnet option of a response's OPT record (RFC 7871 §6). */
export interface ResponseClientSubnet {
  readonly family: number;
  readonly sourcePrefix: number;
  /** The scope the answer is good for (RFC 7871 §7.2.1). */
  readonly scopePrefix: number;
  readonly address: Buffer;
}

/** One resource record of a response (RFC 1035 §4.1.3). */
export interface ResponseRecord {
  /** Lowercase key of the owner name. */
  readonly owner: string;
  readonly type: number;
  readonly class: number;
  readonly ttl: number;
  /** Uncompressed RDATA: names inside are written out in full, case kept (RFC 3597 §4). */
  readonly rdata: Buffer;
}

/** A decoded response. */
export interface Response {
  readonly id: number;
  readonly opcode: number;
  /** Authoritative Answer, TrunCation, Recursion Desired, Recursion Available (RFC 1035 §4.1.1). */
  readonly aa: boolean;
  readonly tc: boolean;
  readonly rd: boolean;
  readonly ra: boolean;
  /** The full rcode: header bits, plus the OPT record's extended bits when there is one (RFC 6891 §6.1.3). */
  readonly rcode: number;
  /** The question as it came back, or null when QDCOUNT is 0. */
  readonly question: { readonly qkey: string; readonly qtype: number; readonly qclass: number } | null;
  readonly answer: readonly ResponseRecord[];
  readonly authority: readonly ResponseRecord[];
  /** The additional section without the OPT record. */
  readonly additional: readonly ResponseRecord[];
  /** The responder's UDP payload size from its OPT record, or null without one. */
  readonly ednsUdpSize: number | null;
  /** The Client Subnet option of the OPT record, or null without one. */
  readonly clientSubnet: ResponseClientSubnet | null;
  /** The COOKIE option's data (RFC 7873 §4: client cookie and server cookie), or null without one. */
  readonly cookie: Buffer | null;
}

/**
 * Reads a possibly compressed name (RFC 1035 §4.1.4) at `off`. Every pointer must point before
 * itself, and the whole name is at most 255 octets (RFC 1035 §2.3.4), so loops end. Returns the
 * labels (case kept) and the offset after the name where it sits, or null when malformed.
 */
function readName(msg: Buffer, off: number): { labels: Buffer[]; end: number } | null {
  const labels: Buffer[] = [];
  let end = -1;
  let wireLen = 1;
  for (;;) {
    if (off >= msg.length) return null;
    const len = msg[off]!;
    if (len === 0) return { labels, end: end < 0 ? off + 1 : end };
    if ((len & 0xc0) === 0xc0) {
      if (off + 1 >= msg.length) return null;
      const target = ((len & 0x3f) << 8) | msg[off + 1]!;
      if (target >= off) return null;
      if (end < 0) end = off + 2;
      off = target;
      continue;
    }
    if ((len & 0xc0) !== 0) return null; // 0x40 and 0x80 label types are not defined (RFC 6891 §5)
    wireLen += len + 1;
    if (wireLen > 255 || off + 1 + len > msg.length) return null;
    labels.push(Buffer.from(msg.subarray(off + 1, off + 1 + len)));
    off += 1 + len;
  }
}

/**
 * RDATA layouts whose names a sender may compress: the RFC 1035 types (RFC 3597 §4), and those a
 * receiver should decompress as well (RFC 3597 §4: RP, AFSDB, RT, PX, SRV; DNAME, RFC 6672 §2.5).
 * A number is that many fixed octets; the rest of the RDATA after the layout is copied as is.
 */
const COMPRESSIBLE_RDATA: ReadonlyMap<number, readonly ('name' | number)[]> = new Map<number, readonly ('name' | number)[]>([
  [2, ['name']], // NS
  [3, ['name']], // MD
  [4, ['name']], // MF
  [5, ['name']], // CNAME
  [6, ['name', 'name', 20]], // SOA
  [7, ['name']], // MB
  [8, ['name']], // MG
  [9, ['name']], // MR
  [12, ['name']], // PTR
  [14, ['name', 'name']], // MINFO
  [15, [2, 'name']], // MX
  [17, ['name', 'name']], // RP
  [18, [2, 'name']], // AFSDB
  [21, [2, 'name']], // RT
  [26, [2, 'name', 'name']], // PX
  [33, [6, 'name']], // SRV
  [39, ['name']], // DNAME
]);

/** RDATA at [start, end) of `msg` with its names written out; null when it does not fit its layout. */
function readRdata(msg: Buffer, type: number, start: number, end: number): Buffer | null {
  const layout = COMPRESSIBLE_RDATA.get(type);
  if (!layout) return Buffer.from(msg.subarray(start, end));
  const parts: Buffer[] = [];
  let off = start;
  for (const field of layout) {
    if (field === 'name') {
      const name = readName(msg, off);
      if (!name || name.end > end) return null;
      parts.push(labelsToWire(name.labels));
      off = name.end;
    } else {
      if (off + field > end) return null;
      parts.push(msg.subarray(off, off + field));
      off += field;
    }
  }
  parts.push(msg.subarray(off, end));
  return Buffer.concat(parts);
}

/**
 * RDATA in canonical form, for comparing records (RFC 4034 §6.2): the names inside the types of
 * {@link COMPRESSIBLE_RDATA} (all on RFC 4034 §6.2's list) in lowercase, the rest as is.
 * `rdata` is uncompressed, as {@link parseResponse} and proto/rdata.ts give it; RDATA that does not
 * fit its type's layout comes back unchanged. Label length octets are below 64, so lowering the
 * octets A-Z of a name never touches them.
 */
export function canonicalRdata(type: number, rdata: Buffer): Buffer {
  const layout = COMPRESSIBLE_RDATA.get(type);
  if (!layout) return rdata;
  const out = Buffer.from(rdata);
  let off = 0;
  for (const field of layout) {
    if (field !== 'name') {
      off += field;
      continue;
    }
    const name = readName(out, off);
    if (!name) return rdata;
    for (let i = off; i < name.end; i++) if (out[i]! >= 0x41 && out[i]! <= 0x5a) out[i] = out[i]! | 0x20;
    off = name.end;
  }
  return out;
}

/**
 * Decodes a response (RFC 1035 §4.1): header, question, and the three record sections, names
 * decompressed. Returns a sentence saying what is wrong when the message is not a well-formed
 * response: shorter than a header, QR clear, a section that runs past the end, trailing octets,
 * more than one OPT record (RFC 6891 §6.1.1), an EDNS option that overruns its OPT record or a
 * Client Subnet option shorter than its fixed part (RFC 7871 §6). What the asker expects (ID,
 * question) is checked by the asker (RFC 5452 §9.1).
 */
export function parseResponse(msg: Buffer): Response | string {
  if (msg.length < 12) return 'shorter than a DNS header';
  const flags1 = msg[2]!;
  const flags2 = msg[3]!;
  if ((flags1 & 0x80) === 0) return 'not a response (QR is clear)';
  const qdcount = msg.readUInt16BE(4);
  const counts = [msg.readUInt16BE(6), msg.readUInt16BE(8), msg.readUInt16BE(10)] as const;
  if (qdcount > 1) return `QDCOUNT is ${qdcount}`;
  let off = 12;
  let question: Response['question'] = null;
  if (qdcount === 1) {
    const name = readName(msg, off);
    if (!name) return 'malformed question name';
    if (name.end + 4 > msg.length) return 'the question runs past the end';
    off = name.end;
    question = { qkey: labelsToKey(name.labels), qtype: msg.readUInt16BE(off), qclass: msg.readUInt16BE(off + 2) };
    off += 4;
  }
  const sections: ResponseRecord[][] = [[], [], []];
  let rcode = flags2 & 0x0f;
  let ednsUdpSize: number | null = null;
  let clientSubnet: ResponseClientSubnet | null = null;
  let cookie: Buffer | null = null;
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < counts[s]!; i++) {
      const name = readName(msg, off);
      if (!name) return 'malformed owner name (RFC 1035 §4.1.4)';
      if (name.end + 10 > msg.length) return 'a record runs past the end';
      off = name.end;
      const type = msg.readUInt16BE(off);
      const klass = msg.readUInt16BE(off + 2);
      const ttl = msg.readUInt32BE(off + 4);
      const rdlen = msg.readUInt16BE(off + 8);
      const start = off + 10;
      off = start + rdlen;
      if (off > msg.length) return 'record data runs past the end';
      if (s === 2 && type === RRType.OPT) {
        if (ednsUdpSize !== null) return 'more than one OPT record';
        ednsUdpSize = klass;
        // RFC 6891 §6.1.3: the upper 8 bits of the 12-bit rcode are the TTL's first octet.
        rcode |= (ttl >>> 24) << 4;
        const ecs = responseEcs(msg, start, off);
        if (typeof ecs === 'string') return ecs;
        clientSubnet = ecs;
        cookie = responseCookie(msg, start, off);
        continue;
      }
      const rdata = readRdata(msg, type, start, off);
      if (!rdata) return `malformed ${type} record data`;
      sections[s]!.push({ owner: labelsToKey(name.labels), type, class: klass, ttl, rdata });
    }
  }
  // RFC 1035 §4.1: the message is exactly its sections.
  if (off !== msg.length) return 'trailing octets after the message';
  return {
    id: msg.readUInt16BE(0),
    opcode: (flags1 >> 3) & 0x0f,
    aa: (flags1 & 0x04) !== 0,
    tc: (flags1 & 0x02) !== 0,
    rd: (flags1 & 0x01) !== 0,
    ra: (flags2 & 0x80) !== 0,
    rcode,
    question,
    answer: sections[0]!,
    authority: sections[1]!,
    additional: sections[2]!,
    ednsUdpSize,
    clientSubnet,
    cookie,
  };
}

/** The COOKIE option's data among a response's EDNS options at [start, end) (already checked to be well-formed), or null. */
function responseCookie(msg: Buffer, start: number, end: number): Buffer | null {
  for (let off = start; off + 4 <= end; ) {
    const code = msg.readUInt16BE(off);
    const len = msg.readUInt16BE(off + 2);
    if (code === OPTION_COOKIE) return Buffer.from(msg.subarray(off + 4, off + 4 + len));
    off += 4 + len;
  }
  return null;
}

/** The Client Subnet option among a response's EDNS options at [start, end), or a sentence saying what is malformed. */
function responseEcs(msg: Buffer, start: number, end: number): ResponseClientSubnet | null | string {
  let found: ResponseClientSubnet | null = null;
  let off = start;
  while (off < end) {
    if (off + 4 > end) return 'EDNS option header runs past the OPT record';
    const code = msg.readUInt16BE(off);
    const len = msg.readUInt16BE(off + 2);
    const optStart = off + 4;
    off = optStart + len;
    if (off > end) return 'EDNS option runs past the OPT record';
    if (code !== OPTION_ECS || found) continue;
    if (len < 4) return 'Client Subnet option shorter than 4 octets';
    found = {
      family: msg.readUInt16BE(optStart),
      sourcePrefix: msg[optStart + 2]!,
      scopePrefix: msg[optStart + 3]!,
      address: Buffer.from(msg.subarray(optStart + 4, off)),
    };
  }
  return found;
}
