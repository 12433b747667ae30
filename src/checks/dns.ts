/**
 * @module checks/dns
 * The `dns` check type: asks the endpoint (a DNS server) one question, `name` and `qtype`, over
 * UDP, and again over TCP when the answer comes back truncated (TC=1, RFC 1035 §4.2.1, RFC 7766
 * §5); up when the response's rcode is the expected one (default NOERROR) and, when `expect` is
 * given, the answer's records of `qtype` are exactly the expected ones (in any order).
 *
 * The query is the project's own codec (proto/wire.ts {@link encodeQuery}, {@link parseResponse}):
 * opcode QUERY, no EDNS (so a UDP answer is at most 512 octets), RD only with `recursion: true`.
 * Each probe uses a new socket (a new source port) and a random ID from node:crypto; a reply is
 * used only when its ID and question are those of the query (RFC 5452 §9.1). Over UDP the socket
 * is connected, so only the target's datagrams arrive, and an unusable one (wrong ID, wrong
 * question, malformed) is dropped while the probe waits on, as a resolver would; if nothing
 * usable comes, the reason names the last fault instead of `timeout`. Over TCP (our own
 * connection) an unusable reply fails the probe at once.
 *
 * Reasons: `ok`, `timeout`, `refused` (ICMP port unreachable, or TCP refused), `rcode NAME`,
 * `rdata mismatch: missing …; unexpected …`, `id mismatch`, `question mismatch`,
 * `malformed response: …`, `truncated, tcp: REASON`, `dns: CODE` (the endpoint's host name did
 * not resolve), and the other connection reasons of ./check.ts {@link reasonOf}.
 */
import dgram from 'node:dgram';
import { randomInt } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { Type } from '@sinclair/typebox';
import { NameError, presentationToKey } from '../proto/name.js';
import { CLASS_IN, RRType, typeFromName, typeToName } from '../proto/types.js';
import { canonicalRdata, encodeQuery, parseResponse, Rcode, rcodeName, type Response } from '../proto/wire.js';
import { formatRdata, parseRdataText } from '../proto/rdata.js';
import { reasonOf, result, type CheckType, type ProbeResult } from './check.js';

/** The default port of a DNS server (RFC 1035 §4.2). */
const DNS_PORT = 53;

/** The rcodes a check may expect: not the extended ones (BADVERS, BADCOOKIE need EDNS, which the check does not send). */
const RCODE_NAMES = (Object.keys(Rcode) as (keyof typeof Rcode)[]).filter((n) => Rcode[n] < 16);

/** Query types a plain query cannot ask: OPT is a pseudo-type (RFC 6891 §6.1.1), zone transfers are not queries (RFC 5936, RFC 1995). */
const UNASKABLE = new Set<number>([RRType.OPT, RRType.AXFR, RRType.IXFR]);

const fields = {
  name: Type.Optional(Type.String({ minLength: 1, description: 'dns: the name to ask for (absolute; a trailing dot is optional). Required for dns.' })),
  qtype: Type.Optional(Type.String({ minLength: 1, description: 'dns: the type to ask for (`A`, `SOA`, `TXT`, `TYPE65`…). Default `A`.' })),
  rcode: Type.Optional(
    Type.Union(
      RCODE_NAMES.map((n) => Type.Literal(n)),
      {
        description: 'dns: the rcode that means up. Default `NOERROR`.',
        'x-error': `must be an rcode name: ${RCODE_NAMES.join(', ')}`,
      },
    ),
  ),
  expect: Type.Optional(
    Type.Array(Type.String({ minLength: 1 }), {
      minItems: 1,
      description: "dns: up only if the answer's records of `qtype` are exactly these (presentation form, any order), e.g. `[192.0.2.1]`.",
    }),
  ),
  recursion: Type.Optional(Type.Boolean({ description: 'dns: set RD (recursion desired), to check a resolver. Default false.' })),
};

/** One expected record: how it is shown in reasons, and its canonical bytes as hex. */
interface ExpectedRdata {
  readonly shown: string;
  readonly key: string;
}

export interface DnsPlan {
  readonly type: 'dns';
  /** Key of the name asked for. */
  readonly qkey: string;
  readonly qtype: number;
  readonly rcode: number;
  readonly expect: readonly ExpectedRdata[] | undefined;
  readonly recursion: boolean;
  readonly port: number | undefined;
  readonly address: string | undefined;
}

export interface DnsProbeSpec {
  kind: 'dns';
  /** IP address or host name of the server. */
  address: string;
  port: number;
  qkey: string;
  qtype: number;
  rcode: number;
  expect: readonly ExpectedRdata[] | undefined;
  recursion: boolean;
  timeoutMs: number;
}

export const dnsCheck: CheckType<'dns', typeof fields, DnsPlan, DnsProbeSpec> = {
  types: ['dns'],
  fields,
  exclusiveFields: true,
  compile(e, fail) {
    let qkey = '';
    if (e.name === undefined) fail(['name'], 'a dns check needs a name to ask for');
    else {
      try {
        qkey = presentationToKey(e.name, '');
      } catch (err) {
        if (!(err instanceof NameError)) throw err;
        fail(['name'], err.message);
      }
    }
    let qtype = RRType.A as number;
    if (e.qtype !== undefined) {
      const t = typeFromName(e.qtype);
      if (t === undefined) fail(['qtype'], `unknown type "${e.qtype}"`);
      else if (UNASKABLE.has(t)) fail(['qtype'], `${typeToName(t)} cannot be asked in a query`);
      else qtype = t;
    }
    let expect: ExpectedRdata[] | undefined;
    if (e.expect !== undefined) {
      expect = [];
      e.expect.forEach((text, i) => {
        try {
          const wire = parseRdataText(qtype, text, '');
          expect!.push({ shown: formatRdata(qtype, wire), key: canonicalKey(qtype, wire) });
        } catch (err) {
          fail(['expect', i], `not ${typeToName(qtype)} data: ${(err as Error).message}`);
        }
      });
    }
    return {
      type: 'dns',
      qkey,
      qtype,
      rcode: Rcode[(e.rcode ?? 'NOERROR') as keyof typeof Rcode],
      expect,
      recursion: e.recursion ?? false,
      port: e.port,
      address: e.address,
    };
  },
  aim: (t, target, timeoutMs) => ({
    kind: 'dns',
    address: target.address,
    port: t.port ?? DNS_PORT,
    qkey: t.qkey,
    qtype: t.qtype,
    rcode: t.rcode,
    expect: t.expect,
    recursion: t.recursion,
    timeoutMs,
  }),
  open: () => ({ probe: probeDns, close: async () => undefined }),
};

/** Canonical RDATA as hex (proto/wire.ts {@link canonicalRdata}), so `NS1.Example.` and `ns1.example.` are one record. */
function canonicalKey(type: number, rdata: Buffer): string {
  return canonicalRdata(type, rdata).toString('hex');
}

/** Lists at most three values, then how many more. */
function few(values: readonly string[]): string {
  return values.length <= 3 ? values.join(', ') : `${values.slice(0, 3).join(', ')} and ${values.length - 3} more`;
}

/** The verdict on a usable response. */
function judge(spec: DnsProbeSpec, res: Response): { up: boolean; reason: string } {
  if (res.rcode !== spec.rcode) return { up: false, reason: `rcode ${rcodeName(res.rcode)}` };
  if (!spec.expect) return { up: true, reason: 'ok' };
  const got = new Map<string, string>();
  for (const rr of res.answer) {
    if (rr.type === spec.qtype && rr.class === CLASS_IN) got.set(canonicalKey(rr.type, rr.rdata), formatRdata(rr.type, rr.rdata));
  }
  const wanted = new Set(spec.expect.map((x) => x.key));
  const missing = spec.expect.filter((x) => !got.has(x.key)).map((x) => x.shown);
  const unexpected = [...got].filter(([k]) => !wanted.has(k)).map(([, shown]) => shown);
  if (missing.length === 0 && unexpected.length === 0) return { up: true, reason: 'ok' };
  const parts = [];
  if (missing.length > 0) parts.push(`missing ${few(missing)}`);
  if (unexpected.length > 0) parts.push(`unexpected ${few(unexpected)}`);
  return { up: false, reason: `rdata mismatch: ${parts.join('; ')}` };
}

/**
 * The reply decoded, or why it cannot be the answer to our query (RFC 5452 §9.1: the ID and the
 * question must match). A reply without a question is accepted only with an error rcode,
 * which some servers send without echoing it.
 */
function usable(msg: Buffer, id: number, spec: DnsProbeSpec): string | Response {
  const res = parseResponse(msg);
  if (typeof res === 'string') return `malformed response: ${res}`;
  if (res.id !== id) return 'id mismatch';
  if (res.opcode !== 0) return 'malformed response: not a QUERY';
  const q = res.question;
  if (q === null ? res.rcode === Rcode.NOERROR : q.qkey !== spec.qkey || q.qtype !== spec.qtype || q.qclass !== CLASS_IN) return 'question mismatch';
  return res;
}

/** A random message ID (RFC 5452 §9.2), from node:crypto. */
function randomId(): number {
  return randomInt(0, 0x10000);
}

export function probeDns(spec: DnsProbeSpec): Promise<ProbeResult> {
  const start = performance.now();
  return new Promise((resolve) => {
    const cleanups: (() => void)[] = [];
    let done = false;
    const finish = (up: boolean, reason: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      for (const c of cleanups) c();
      resolve(result(up, start, reason));
    };
    // What went wrong last before the time ran out, said instead of a bare "timeout".
    let fault: string | null = null;
    let phase: 'udp' | 'tcp' = 'udp';
    const timer = setTimeout(() => finish(false, phase === 'tcp' ? 'truncated, tcp: timeout' : (fault ?? 'timeout')), spec.timeoutMs);

    const viaTcp = (ip: string): void => {
      phase = 'tcp';
      const id = randomId();
      const query = encodeQuery({ id, qkey: spec.qkey, qtype: spec.qtype, rd: spec.recursion });
      const socket = net.connect({ host: ip, port: spec.port });
      cleanups.push(() => socket.destroy());
      let buf = Buffer.alloc(0);
      socket.once('connect', () => {
        // RFC 1035 §4.2.2 / RFC 7766 §8: each message is preceded by its two-octet length.
        const len = Buffer.alloc(2);
        len.writeUInt16BE(query.length);
        socket.write(Buffer.concat([len, query]));
      });
      socket.on('data', (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        if (buf.length < 2 || buf.length < 2 + buf.readUInt16BE(0)) return;
        const res = usable(buf.subarray(2, 2 + buf.readUInt16BE(0)), id, spec);
        if (typeof res === 'string') return finish(false, `truncated, tcp: ${res}`);
        const v = judge(spec, res);
        finish(v.up, v.reason);
      });
      socket.once('end', () => finish(false, 'truncated, tcp: closed'));
      socket.once('error', (err) => finish(false, `truncated, tcp: ${reasonOf(err)}`));
    };

    const viaUdp = (ip: string, family: number): void => {
      const id = randomId();
      const query = encodeQuery({ id, qkey: spec.qkey, qtype: spec.qtype, rd: spec.recursion });
      const socket = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
      cleanups.push(() => {
        try {
          socket.close();
        } catch {
          // already closed after an error
        }
      });
      // A connected socket receives only the target's datagrams, and hears ICMP port unreachable
      // as ECONNREFUSED.
      socket.on('error', (err) => finish(false, reasonOf(err)));
      socket.on('message', (msg) => {
        const res = usable(msg, id, spec);
        if (typeof res === 'string') {
          fault = res;
          return;
        }
        if (res.tc) {
          // Done with UDP: a late ICMP error must not be taken for the TCP attempt's.
          socket.removeAllListeners('message');
          socket.removeAllListeners('error');
          socket.on('error', () => undefined);
          return viaTcp(ip);
        }
        const v = judge(spec, res);
        finish(v.up, v.reason);
      });
      socket.connect(spec.port, ip, () => {
        if (!done) socket.send(query);
      });
    };

    if (net.isIP(spec.address) !== 0) viaUdp(spec.address, net.isIP(spec.address));
    else {
      // A host name: resolved by the system resolver, as node:net does for tcp and http checks.
      lookup(spec.address).then(
        (a) => {
          if (!done) viaUdp(a.address, a.family);
        },
        (err: unknown) => finish(false, reasonOf(err)),
      );
    }
  });
}
