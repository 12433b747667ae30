/**
 * @module proto/rdata
 * RDATA in its two forms: master-file presentation text (RFC 1035 §5.1 and each type's RFC) and
 * uncompressed wire bytes (what {@link ZoneRecord.rdata} holds and the encoder sends verbatim).
 *
 * Owns: parsing presentation tokens to wire ({@link parseRdata}, {@link parseRdataText}),
 * wire back to presentation ({@link formatRdata}), and the few structured reads the server needs
 * ({@link rdataTargetKey}, {@link soaFields}, {@link withSoaSerial}).
 *
 * Called by zone/master-file.ts and zone/yaml-zone.ts (parsing), zone/zone.ts, zone/lookup.ts
 * and dns/answer.ts (targets and SOA fields), and anything that prints records.
 *
 * Design: each supported type is a list of fields ({@link SCHEMAS}); one generic walker parses,
 * one formats, so parse(format(x)) == x holds by construction. dns-packet's per-type codecs are
 * deliberately not used for encoding: its name encoder ignores `\.`/`\DDD` escapes and label
 * limits, and its character-string encoder silently wraps lengths over 255. The tests use
 * dns-packet's full-packet decoder as an independent check of the bytes produced here.
 *
 * Tokens: the shared tokenizer (proto/presentation.ts, also behind zone/master-file.ts) removes
 * quotes but leaves backslash escapes in place, quoted or not; this module interprets them
 * (names through proto/name.ts, character-strings here). A first token of exactly `\#` selects the
 * RFC 3597 §5 generic form; RFC 3597 §5 means the unquoted one, so {@link rdataTokens} hands a
 * quoted `"\#"` over as the equivalent `\035`.
 */
import { checkLabels, labelsToKey, labelsToWire, parsePresentationName } from './name.js';
import { RRType, typeFromName, typeToName } from './types.js';
import { parseTtlUnits } from './duration.js';
import { RDATA_TEXT, scanPresentation, type PresentationToken } from './presentation.js';

// ---------------------------------------------------------------------------------------------
// Field kinds and per-type schemas
// ---------------------------------------------------------------------------------------------

/** How one RDATA field is written and read. `*` kinds take all the remaining tokens/bytes. */
type Kind =
  | 'u8'
  | 'u16'
  | 'u32'
  | 'timer' // u32, BIND unit forms allowed (SOA timers)
  | 'alg' // u8, DNSSEC algorithm number or mnemonic (RFC 8624 names)
  | 'type' // u16, an RR type mnemonic (RRSIG type covered)
  | 'time' // u32, RRSIG YYYYMMDDHHmmSS or seconds (RFC 4034 §3.2)
  | 'ipv4'
  | 'ipv6'
  | 'name' // uncompressed domain name, case kept
  | 'string' // one character-string (RFC 1035 §3.3), at most 255 octets
  | 'caa-tag' // RFC 8659 §4.1.1: 1-15 ASCII letters and digits, length-prefixed
  | 'caa-value' // RFC 8659 §4.1.1: the rest of the RDATA, not length-prefixed
  | 'strings*' // one or more character-strings (TXT, SPF)
  | 'hex*' // one or more hex tokens, concatenated
  | 'base64*' // one or more base64 tokens, concatenated
  | 'bitmap*' // NSEC type bitmap (RFC 4034 §4.1.2), zero or more type mnemonics
  | 'svcparams*'; // SVCB/HTTPS SvcParams (RFC 9460 §2.1, §2.2), zero or more key=value

type Field = readonly [kind: Kind, label: string];

const name = (label: string): Field => ['name', label];

/** The types with a presentation format here; any other type is accepted only as `\#`. */
const SCHEMAS: ReadonlyMap<number, readonly Field[]> = new Map<number, readonly Field[]>([
  [RRType.A, [['ipv4', 'address']]],
  [RRType.NS, [name('nameserver')]],
  [RRType.CNAME, [name('target')]],
  // RFC 1035 §3.3.13; timers take BIND unit forms, as BIND and NSD accept.
  [RRType.SOA, [name('mname'), name('rname'), ['u32', 'serial'], ['timer', 'refresh'], ['timer', 'retry'], ['timer', 'expire'], ['timer', 'minimum']]],
  [RRType.PTR, [name('target')]],
  [
    RRType.HINFO,
    [
      ['string', 'cpu'],
      ['string', 'os'],
    ],
  ],
  [RRType.MX, [['u16', 'preference'], name('exchange')]],
  [RRType.TXT, [['strings*', 'text']]],
  [RRType.RP, [name('mbox'), name('txt')]],
  [RRType.AFSDB, [['u16', 'subtype'], name('hostname')]],
  [RRType.AAAA, [['ipv6', 'address']]],
  // RFC 2782
  [RRType.SRV, [['u16', 'priority'], ['u16', 'weight'], ['u16', 'port'], name('target')]],
  // RFC 3403 §4.1
  [RRType.NAPTR, [['u16', 'order'], ['u16', 'preference'], ['string', 'flags'], ['string', 'services'], ['string', 'regexp'], name('replacement')]],
  [RRType.KX, [['u16', 'preference'], name('exchanger')]],
  [RRType.DNAME, [name('target')]],
  // RFC 4034 §5.3
  [
    RRType.DS,
    [
      ['u16', 'key tag'],
      ['alg', 'algorithm'],
      ['u8', 'digest type'],
      ['hex*', 'digest'],
    ],
  ],
  [
    RRType.CDS,
    [
      ['u16', 'key tag'],
      ['alg', 'algorithm'],
      ['u8', 'digest type'],
      ['hex*', 'digest'],
    ],
  ],
  // RFC 4255 §3.2
  [
    RRType.SSHFP,
    [
      ['u8', 'algorithm'],
      ['u8', 'fingerprint type'],
      ['hex*', 'fingerprint'],
    ],
  ],
  // RFC 4034 §3.2
  [
    RRType.RRSIG,
    [
      ['type', 'type covered'],
      ['alg', 'algorithm'],
      ['u8', 'labels'],
      ['u32', 'original TTL'],
      ['time', 'expiration'],
      ['time', 'inception'],
      ['u16', 'key tag'],
      name('signer'),
      ['base64*', 'signature'],
    ],
  ],
  // RFC 4034 §4.2
  [RRType.NSEC, [name('next name'), ['bitmap*', 'types']]],
  // RFC 4034 §2.2
  [
    RRType.DNSKEY,
    [
      ['u16', 'flags'],
      ['u8', 'protocol'],
      ['alg', 'algorithm'],
      ['base64*', 'public key'],
    ],
  ],
  [
    RRType.CDNSKEY,
    [
      ['u16', 'flags'],
      ['u8', 'protocol'],
      ['alg', 'algorithm'],
      ['base64*', 'public key'],
    ],
  ],
  // RFC 6698 §2.2
  [
    RRType.TLSA,
    [
      ['u8', 'usage'],
      ['u8', 'selector'],
      ['u8', 'matching type'],
      ['hex*', 'data'],
    ],
  ],
  [
    RRType.SMIMEA,
    [
      ['u8', 'usage'],
      ['u8', 'selector'],
      ['u8', 'matching type'],
      ['hex*', 'data'],
    ],
  ],
  // RFC 7208 §3.1: same format as TXT
  [RRType.SPF, [['strings*', 'text']]],
  // RFC 8659 §4.1.1 (obsoletes RFC 6844)
  [
    RRType.CAA,
    [
      ['u8', 'flags'],
      ['caa-tag', 'tag'],
      ['caa-value', 'value'],
    ],
  ],
  // RFC 9460 §2.1 (SVCB) and §9.1 (HTTPS: the same format)
  [RRType.SVCB, [['u16', 'priority'], name('target'), ['svcparams*', 'parameters']]],
  [RRType.HTTPS, [['u16', 'priority'], name('target'), ['svcparams*', 'parameters']]],
]);

/** DNSSEC algorithm mnemonics BIND and NSD accept in DNSKEY/DS/RRSIG (RFC 8624 §3.1). */
const ALGORITHMS: ReadonlyMap<string, number> = new Map([
  ['RSAMD5', 1],
  ['DH', 2],
  ['DSA', 3],
  ['RSASHA1', 5],
  ['DSA-NSEC3-SHA1', 6],
  ['RSASHA1-NSEC3-SHA1', 7],
  ['RSASHA256', 8],
  ['RSASHA512', 10],
  ['ECC-GOST', 12],
  ['ECDSAP256SHA256', 13],
  ['ECDSAP384SHA384', 14],
  ['ED25519', 15],
  ['ED448', 16],
  ['INDIRECT', 252],
  ['PRIVATEDNS', 253],
  ['PRIVATEOID', 254],
]);

/** Query-only and meta types (RFC 6895 §3.1): OPT and 128-255 (AXFR, IXFR, ANY, TSIG…), and 0. */
function isMetaType(type: number): boolean {
  return type === 0 || type === RRType.OPT || (type >= 128 && type <= 255);
}

// ---------------------------------------------------------------------------------------------
// Presentation → wire
// ---------------------------------------------------------------------------------------------

const MAX_RDATA = 0xffff;

/**
 * Interprets `\X` and `\DDD` escapes (RFC 1035 §5.1) in a token, returning its bytes.
 * Text is taken as UTF-8, so non-ASCII characters become their UTF-8 octets.
 */
function unescapeText(token: string, what: string): Buffer {
  const src = Buffer.from(token, 'utf8');
  if (!src.includes(0x5c)) return src;
  const out: number[] = [];
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c !== 0x5c) {
      out.push(c);
      continue;
    }
    const d = src[i + 1];
    if (d === undefined) throw new Error(`${what} ends with a lone backslash`);
    if (d >= 0x30 && d <= 0x39) {
      const digits = src.subarray(i + 1, i + 4).toString('latin1');
      if (!/^[0-9]{3}$/.test(digits) || Number(digits) > 255) throw new Error(`${what} has a bad \\DDD escape "\\${digits}"`);
      out.push(Number(digits));
      i += 3;
    } else {
      out.push(d);
      i += 1;
    }
  }
  return Buffer.from(out);
}

function parseUint(token: string, label: string, max: number): number {
  if (!/^[0-9]+$/.test(token) || Number(token) > max) throw new Error(`${label} "${token}" is not a number from 0 to ${max}`);
  return Number(token);
}

/** Strict dotted quad: four decimal octets, no leading zeros (which some resolvers read as octal). */
function parseIpv4(token: string): number[] {
  const m = /^(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})$/.exec(token);
  const parts = m ? m.slice(1).map(Number) : [];
  if (!m || parts.some((p) => p > 255)) throw new Error(`"${token}" is not an IPv4 address (a dotted quad such as 192.0.2.1)`);
  return parts;
}

/** RFC 4291 §2.2 text forms: eight groups, `::` once, an embedded dotted quad at the end. */
function parseIpv6(token: string): number[] {
  const bad = (): Error => new Error(`"${token}" is not an IPv6 address`);
  if (!/^[0-9A-Fa-f:.]+$/.test(token)) throw bad();
  const groups = (part: string, v4Allowed: boolean): number[] => {
    if (part === '') return [];
    const out: number[] = [];
    const pieces = part.split(':');
    pieces.forEach((p, i) => {
      if (v4Allowed && i === pieces.length - 1 && p.includes('.')) {
        let v4: number[];
        try {
          v4 = parseIpv4(p);
        } catch {
          throw bad();
        }
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (/^[0-9A-Fa-f]{1,4}$/.test(p)) {
        out.push(parseInt(p, 16));
      } else {
        throw bad();
      }
    });
    return out;
  };
  let words: number[];
  const dbl = token.indexOf('::');
  if (dbl === -1) {
    words = groups(token, true);
    if (words.length !== 8) throw bad();
  } else {
    if (token.indexOf('::', dbl + 1) !== -1) throw bad();
    const tail = token.slice(dbl + 2);
    const head = groups(token.slice(0, dbl), false);
    const rest = groups(tail, true);
    const missing = 8 - head.length - rest.length;
    if (missing < 1) throw bad();
    words = [...head, ...new Array<number>(missing).fill(0), ...rest];
  }
  return words.flatMap((w) => [w >> 8, w & 0xff]);
}

function parseName(token: string, label: string, origin: string): Buffer {
  try {
    return labelsToWire(parsePresentationName(token, origin));
  } catch (err) {
    throw new Error(`${label}: ${(err as Error).message}`);
  }
}

function parseHex(tokens: readonly string[], label: string): Buffer {
  const hex = tokens.join('');
  if (!/^[0-9A-Fa-f]*$/.test(hex) || hex.length % 2 !== 0) throw new Error(`${label} "${hex}" is not an even number of hex digits`);
  return Buffer.from(hex, 'hex');
}

function parseBase64(tokens: readonly string[], label: string): Buffer {
  const b64 = tokens.join('');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) throw new Error(`${label} is not valid base64`);
  const bytes = Buffer.from(b64, 'base64');
  // Reject non-canonical trailing bits, so formatting gives back the same text.
  if (bytes.toString('base64') !== b64) throw new Error(`${label} is not valid base64`);
  return bytes;
}

/** RRSIG times (RFC 4034 §3.2): 14 digits are YYYYMMDDHHmmSS UTC, anything shorter is seconds. */
function parseTime(token: string, label: string): number {
  if (/^[0-9]{14}$/.test(token)) {
    const [y, mo, d, h, mi, s] = [0, 4, 6, 8, 10, 12].map((at, i) => Number(token.slice(at, at + (i === 0 ? 4 : 2))));
    const ms = Date.UTC(y!, mo! - 1, d!, h!, mi!, s!);
    const back = new Date(ms);
    if (back.getUTCMonth() !== mo! - 1 || back.getUTCDate() !== d! || h! > 23 || mi! > 59 || s! > 59 || y! < 1970) {
      throw new Error(`${label} "${token}" is not a valid YYYYMMDDHHmmSS time`);
    }
    return (ms / 1000) % 2 ** 32;
  }
  return parseUint(token, label, 0xffffffff);
}

/** RFC 4034 §4.1.2 window blocks for a set of types. */
export function encodeBitmap(types: readonly number[]): number[] {
  const sorted = [...new Set(types)].sort((a, b) => a - b);
  const out: number[] = [];
  let i = 0;
  while (i < sorted.length) {
    const window = sorted[i]! >> 8;
    const bits = new Array<number>(32).fill(0);
    let len = 0;
    for (; i < sorted.length && sorted[i]! >> 8 === window; i++) {
      const low = sorted[i]! & 0xff;
      bits[low >> 3]! |= 0x80 >> (low & 7);
      len = (low >> 3) + 1;
    }
    out.push(window, len, ...bits.slice(0, len));
  }
  return out;
}

function pushU16(out: number[], n: number): void {
  out.push(n >> 8, n & 0xff);
}

function pushU32(out: number[], n: number): void {
  out.push((n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

function pushBytes(out: number[], b: Uint8Array): void {
  for (const x of b) out.push(x);
}

/** Parses the RFC 3597 §5 generic form: the tokens after `\#`, i.e. `<length> [hex...]`. */
function parseGeneric(type: number, tokens: readonly string[]): Buffer {
  const lenText = tokens[0];
  if (lenText === undefined) throw new Error('\\# needs a length (RFC 3597 §5: \\# <length> <hex>)');
  const len = parseUint(lenText, '\\# length', MAX_RDATA);
  const data = parseHex(tokens.slice(1), '\\# data');
  if (data.length !== len) throw new Error(`\\# length is ${len} but ${data.length} octets of hex follow (RFC 3597 §5)`);
  // RFC 3597 §5: for a type with a known format, the data must be valid for that type.
  const schema = SCHEMAS.get(type);
  if (schema) {
    try {
      decodeFields(schema, data);
    } catch (err) {
      throw new Error(`the \\# data is not valid ${typeToName(type)} RDATA: ${(err as Error).message}`);
    }
  }
  return data;
}

/**
 * Parses a record's RDATA from presentation tokens to uncompressed wire form.
 *
 * `tokens` have their quotes removed and their backslash escapes still in place (see the module
 * header). Names are made absolute with `origin` (a key) and keep the case they were written in.
 * Supports the types in {@link SCHEMAS} (SOA NS A AAAA CNAME MX TXT SRV CAA PTR DS NAPTR DNAME
 * HINFO SSHFP TLSA DNSKEY SVCB HTTPS and a few more), and the RFC 3597 §5 `\# <length> <hex>` form for any
 * type. Throws a plain `Error` with a message (no file or line) on bad input.
 */
export function parseRdata(type: number, tokens: readonly string[], origin: string): Buffer {
  if (isMetaType(type)) throw new Error(`${typeToName(type)} is a query or meta type and cannot appear in zone data (RFC 6895 §3.1)`);
  if (tokens[0] === '\\#') return parseGeneric(type, tokens.slice(1));
  const schema = SCHEMAS.get(type);
  if (!schema) {
    throw new Error(`${typeToName(type)} has no presentation format here; write it in RFC 3597 form: \\# <length> <hex>`);
  }
  const out: number[] = [];
  let i = 0;
  for (const [kind, label] of schema) {
    if (kind.endsWith('*')) {
      const rest = tokens.slice(i);
      i = tokens.length;
      if (rest.length === 0 && kind !== 'bitmap*' && kind !== 'svcparams*') throw new Error(`missing ${label}`);
      if (kind === 'strings*') {
        for (const t of rest) pushString(out, t, label);
      } else if (kind === 'hex*') {
        pushBytes(out, parseHex(rest, label));
      } else if (kind === 'base64*') {
        pushBytes(out, parseBase64(rest, label));
      } else if (kind === 'svcparams*') {
        pushBytes(out, parseSvcParams(rest));
      } else {
        const types = rest.map((t) => {
          const n = typeFromName(t);
          if (n === undefined) throw new Error(`${label}: unknown type "${t}"`);
          return n;
        });
        out.push(...encodeBitmap(types));
      }
      continue;
    }
    const token = tokens[i++];
    if (token === undefined) throw new Error(`missing ${label}`);
    switch (kind) {
      case 'u8':
        out.push(parseUint(token, label, 0xff));
        break;
      case 'u16':
        pushU16(out, parseUint(token, label, 0xffff));
        break;
      case 'u32':
        pushU32(out, parseUint(token, label, 0xffffffff));
        break;
      case 'timer': {
        const n = parseTtlUnits(token);
        if (n === undefined || n > 0xffffffff) throw new Error(`${label} "${token}" is not a number of seconds (or a form such as 1h30m) below 2^32`);
        pushU32(out, n);
        break;
      }
      case 'alg': {
        const n = ALGORITHMS.get(token.toUpperCase());
        out.push(n ?? parseUint(token, label, 0xff));
        break;
      }
      case 'type': {
        const n = typeFromName(token);
        if (n === undefined) throw new Error(`${label}: unknown type "${token}"`);
        pushU16(out, n);
        break;
      }
      case 'time':
        pushU32(out, parseTime(token, label));
        break;
      case 'ipv4':
        out.push(...parseIpv4(token));
        break;
      case 'ipv6':
        out.push(...parseIpv6(token));
        break;
      case 'name':
        pushBytes(out, parseName(token, label, origin));
        break;
      case 'string':
        pushString(out, token, label);
        break;
      case 'caa-tag':
        // RFC 8659 §4.1.1: the tag is 1-15 ASCII letters and digits.
        if (!/^[A-Za-z0-9]{1,15}$/.test(token)) throw new Error(`${label} "${token}" must be 1 to 15 letters and digits (RFC 8659 §4.1.1)`);
        out.push(token.length);
        pushBytes(out, Buffer.from(token, 'ascii'));
        break;
      case 'caa-value':
        // RFC 8659 §4.1.1: the value fills the rest of the RDATA, so it is not limited to 255.
        pushBytes(out, unescapeText(token, label));
        break;
    }
  }
  if (i < tokens.length) throw new Error(`unexpected "${tokens[i]}" after the ${typeToName(type)} data`);
  if (out.length > MAX_RDATA) throw new Error(`RDATA is ${out.length} octets, over the 65535 limit`);
  return Buffer.from(out);
}

// ---------------------------------------------------------------------------------------------
// SVCB and HTTPS parameters (RFC 9460)
// ---------------------------------------------------------------------------------------------

/**
 * SvcParamKeys with a presentation name (RFC 9460 §14.3.2). Keys 7 and up (dohpath, RFC 9461;
 * ohttp, RFC 9540) are read by name but written `keyNNNNN`, the generic form every parser takes
 * (§2.1), as dig 9.18 prints them.
 */
const SVC_KEYS: ReadonlyMap<string, number> = new Map([
  ['mandatory', 0],
  ['alpn', 1],
  ['no-default-alpn', 2],
  ['port', 3],
  ['ipv4hint', 4],
  ['ech', 5],
  ['ipv6hint', 6],
  ['dohpath', 7],
  ['ohttp', 8],
]);
const SVC_KEY_NAMES = ['mandatory', 'alpn', 'no-default-alpn', 'port', 'ipv4hint', 'ech', 'ipv6hint'];
/** RFC 9460 §14.3.2: key 65535 is reserved ("Invalid key"). */
const SVC_KEY_INVALID = 65535;

function svcKeyFromName(text: string): number {
  const known = SVC_KEYS.get(text);
  if (known !== undefined) return known;
  const m = /^key([0-9]{1,5})$/.exec(text);
  const n = m ? Number(m[1]) : NaN;
  if (!(n <= 0xffff) || n === SVC_KEY_INVALID)
    throw new Error(`"${text}" is not a SvcParamKey (RFC 9460 §2.1: mandatory, alpn, no-default-alpn, port, ipv4hint, ech, ipv6hint or keyNNNNN)`);
  return n;
}

function svcKeyName(key: number): string {
  return SVC_KEY_NAMES[key] ?? `key${key}`;
}

/**
 * Splits a value-list (RFC 9460 Appendix A.1) at its commas; `\,` and `\\` (after the
 * character-string unescaping) stand for a comma and a backslash inside an item.
 */
function splitValueList(bytes: Buffer, label: string): Buffer[] {
  const items: Buffer[] = [];
  let cur: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 0x5c) {
      const next = bytes[i + 1];
      if (next === undefined) throw new Error(`${label} ends with a lone backslash`);
      cur.push(next);
      i++;
    } else if (b === 0x2c) {
      items.push(Buffer.from(cur));
      cur = [];
    } else {
      cur.push(b);
    }
  }
  items.push(Buffer.from(cur));
  if (items.some((x) => x.length === 0)) throw new Error(`${label} has an empty item`);
  return items;
}

/** The wire value of one SvcParam from its presentation value (RFC 9460 §7). */
function svcValue(key: number, text: string | null, keyText: string): Buffer {
  const label = `SvcParam ${keyText}`;
  const need = (): string => {
    if (text === null || text === '') throw new Error(`${label} needs a value`);
    return text;
  };
  const bytes = (): Buffer => unescapeText(need(), label);
  const list = (): string[] => bytes().toString('latin1').split(',');
  switch (key) {
    case 0: {
      // RFC 9460 §8: keys in increasing order, no duplicates, and not "mandatory" itself.
      const keys = list().map(svcKeyFromName);
      const sorted = [...new Set(keys)].sort((a, b) => a - b);
      if (sorted.length !== keys.length) throw new Error(`${label} lists a key twice (RFC 9460 §8)`);
      if (sorted.includes(0)) throw new Error(`${label} cannot list "mandatory" (RFC 9460 §8)`);
      const out: number[] = [];
      for (const k of sorted) pushU16(out, k);
      return Buffer.from(out);
    }
    case 1: {
      // RFC 9460 §7.1.1: alpn-ids, each 1-255 octets, length-prefixed.
      const out: number[] = [];
      for (const id of splitValueList(bytes(), label)) {
        if (id.length > 255) throw new Error(`${label}: an alpn-id is over 255 octets`);
        out.push(id.length);
        pushBytes(out, id);
      }
      return Buffer.from(out);
    }
    case 2:
      // RFC 9460 §7.1.1: no-default-alpn has no value.
      if (text !== null && text !== '') throw new Error(`${label} takes no value (RFC 9460 §7.1.1)`);
      return Buffer.alloc(0);
    case 3: {
      const out: number[] = [];
      pushU16(out, parseUint(unescapeText(need(), label).toString('latin1'), label, 0xffff));
      return Buffer.from(out);
    }
    case 4:
      return Buffer.from(list().flatMap((a) => parseIpv4(a)));
    case 5:
      return parseBase64([bytes().toString('latin1')], label);
    case 6:
      return Buffer.from(list().flatMap((a) => parseIpv6(a)));
    default:
      // Any other key (RFC 9460 §2.1): the value as a character-string, possibly empty.
      return text === null ? Buffer.alloc(0) : unescapeText(text, label);
  }
}

/**
 * Parses SvcParams (RFC 9460 §2.1): `key=value` or a bare `key`; a value may be quoted, which the
 * tokenizers hand over as a `key=` token followed by the quoted text. Written in increasing key
 * order (§2.2: a parser sorts them), each key once, every key named in `mandatory` present (§8).
 */
function parseSvcParams(tokens: readonly string[]): Buffer {
  const params = new Map<number, Buffer>();
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    const eq = token.indexOf('=');
    const keyText = eq === -1 ? token : token.slice(0, eq);
    let value: string | null = eq === -1 ? null : token.slice(eq + 1);
    if (value === '' && i + 1 < tokens.length) value = tokens[++i]!;
    const key = svcKeyFromName(keyText);
    if (params.has(key)) throw new Error(`SvcParam ${keyText} appears twice (RFC 9460 §2.2)`);
    const wire = svcValue(key, value, keyText);
    if (wire.length > 0xffff) throw new Error(`SvcParam ${keyText} is over 65535 octets`);
    params.set(key, wire);
  }
  const mandatory = params.get(0);
  if (mandatory) {
    for (let o = 0; o < mandatory.length; o += 2) {
      const k = mandatory.readUInt16BE(o);
      if (!params.has(k)) throw new Error(`mandatory lists ${svcKeyName(k)}, which is not given (RFC 9460 §8)`);
    }
  }
  const out: number[] = [];
  for (const key of [...params.keys()].sort((a, b) => a - b)) {
    const v = params.get(key)!;
    pushU16(out, key);
    pushU16(out, v.length);
    pushBytes(out, v);
  }
  return Buffer.from(out);
}

/** Escapes a value-list item (RFC 9460 Appendix A.1): `,` and `\` get a backslash. */
function escapeListItem(bytes: Buffer): Buffer {
  const out: number[] = [];
  for (const b of bytes) {
    if (b === 0x2c || b === 0x5c) out.push(0x5c);
    out.push(b);
  }
  return Buffer.from(out);
}

/**
 * SvcParams in presentation form, as dig prints them (RFC 9460 §2.1, §7): names for keys 0-6,
 * `keyNNNNN` for the rest; `alpn` and generic values quoted; lists comma-separated. Throws when
 * the parameters are malformed (keys out of order, a value of the wrong size), so that the
 * record comes out as `\#` instead.
 */
function decodeSvcParams(r: Reader): string[] {
  const out: string[] = [];
  let last = -1;
  while (!r.done) {
    const key = r.u16();
    const value = r.bytes(r.u16());
    // RFC 9460 §2.2: keys in strictly increasing order.
    if (key <= last) throw new Error('SvcParamKeys out of order');
    last = key;
    const name = svcKeyName(key);
    const every = (size: number): Buffer[] => {
      if (value.length === 0 || value.length % size !== 0) throw new Error(`${name} is not a list of ${size}-octet values`);
      return Array.from({ length: value.length / size }, (_, i) => value.subarray(i * size, (i + 1) * size));
    };
    switch (key) {
      case 0:
        out.push(
          `${name}=${every(2)
            .map((k) => svcKeyName(k.readUInt16BE(0)))
            .join(',')}`,
        );
        break;
      case 1: {
        const ids: Buffer[] = [];
        const v = new Reader(value);
        while (!v.done) ids.push(v.bytes(v.u8()));
        if (ids.length === 0 || ids.some((id) => id.length === 0)) throw new Error('alpn has an empty alpn-id');
        out.push(`${name}=${formatString(Buffer.concat(ids.flatMap((id, i) => (i === 0 ? [escapeListItem(id)] : [Buffer.from(','), escapeListItem(id)]))))}`);
        break;
      }
      case 2:
        if (value.length !== 0) throw new Error('no-default-alpn has a value');
        out.push(name);
        break;
      case 3:
        if (value.length !== 2) throw new Error('port is not 2 octets');
        out.push(`${name}=${value.readUInt16BE(0)}`);
        break;
      case 4:
        out.push(
          `${name}=${every(4)
            .map((a) => Array.from(a).join('.'))
            .join(',')}`,
        );
        break;
      case 5:
        out.push(`${name}=${value.toString('base64')}`);
        break;
      case 6:
        out.push(`${name}=${every(16).map(formatIpv6).join(',')}`);
        break;
      default:
        out.push(value.length === 0 ? name : `${name}=${formatString(value)}`);
    }
  }
  return out;
}

/** One length-prefixed character-string (RFC 1035 §3.3): at most 255 octets after unescaping. */
function pushString(out: number[], token: string, label: string): void {
  const bytes = unescapeText(token, label);
  if (bytes.length > 255) {
    throw new Error(`${label}: a character-string is ${bytes.length} octets, over 255 (RFC 1035 §3.3); split it into several quoted strings`);
  }
  out.push(bytes.length);
  pushBytes(out, bytes);
}

/**
 * Splits one RDATA string into tokens the way a master-file line would be, then parses it with
 * {@link parseRdata}. Whitespace separates tokens; `"…"` makes one token (quotes removed,
 * escapes kept); `\X` escapes a space or quote outside quotes. Parentheses and `;` have no
 * special meaning here. Used by the YAML zone format: `parseRdataText(RRType.MX, '10 mail', o)`.
 */
export function parseRdataText(type: number, text: string, origin: string): Buffer {
  return parseRdata(type, tokenizeRdataText(text), origin);
}

/**
 * The tokens {@link parseRdata} takes for tokenizer output (proto/presentation.ts): their text,
 * except that a quoted `"\#"` becomes the equivalent `\035` so that only an unquoted `\#`
 * selects the RFC 3597 §5 generic form.
 */
export function rdataTokens(tokens: readonly PresentationToken[]): string[] {
  return tokens.map((t) => (t.quoted && t.text === '\\#' ? '\\035' : t.text));
}

/** The tokens of one RDATA string ({@link RDATA_TEXT} profile of the shared tokenizer). */
function tokenizeRdataText(text: string): string[] {
  const scan = scanPresentation(text, RDATA_TEXT);
  if (scan.unclosedQuote) throw new Error(`unclosed quote in "${text}"`);
  return rdataTokens(scan.items.flatMap((item) => (item.kind === 'token' ? [item] : [])));
}

// ---------------------------------------------------------------------------------------------
// Wire → presentation
// ---------------------------------------------------------------------------------------------

/** A cursor over RDATA bytes that throws on any overrun. */
class Reader {
  off = 0;
  constructor(readonly buf: Buffer) {}
  need(n: number): void {
    if (this.off + n > this.buf.length) throw new Error('RDATA is truncated');
  }
  u8(): number {
    this.need(1);
    return this.buf[this.off++]!;
  }
  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.off);
    this.off += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.off);
    this.off += 4;
    return v;
  }
  bytes(n: number): Buffer {
    this.need(n);
    const b = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    return b;
  }
  rest(): Buffer {
    return this.bytes(this.buf.length - this.off);
  }
  get done(): boolean {
    return this.off >= this.buf.length;
  }
  /** An uncompressed name (compression is not allowed in stored RDATA). */
  labels(): Buffer[] {
    const labels: Buffer[] = [];
    for (;;) {
      const len = this.u8();
      if (len === 0) break;
      if (len > 63) throw new Error('RDATA holds a compressed or malformed name');
      labels.push(this.bytes(len));
    }
    checkLabels(labels, labels.map((l) => l.toString('latin1')).join('.'));
    return labels;
  }
}

/** Bytes that need a backslash in presentation names: `. \ " ( ) ; @ $` (as BIND writes them). */
const NAME_SPECIAL = new Set([0x2e, 0x5c, 0x22, 0x28, 0x29, 0x3b, 0x40, 0x24]);

function formatName(labels: readonly Buffer[]): string {
  if (labels.length === 0) return '.';
  let out = '';
  for (const l of labels) {
    for (const b of l) {
      if (NAME_SPECIAL.has(b)) out += '\\' + String.fromCharCode(b);
      else if (b > 0x20 && b < 0x7f) out += String.fromCharCode(b);
      else out += '\\' + String(b).padStart(3, '0');
    }
    out += '.';
  }
  return out;
}

/** A quoted character-string: `"` and `\` escaped, bytes outside 0x20-0x7e as `\DDD`. */
function formatString(bytes: Uint8Array): string {
  let out = '"';
  for (const b of bytes) {
    if (b === 0x22 || b === 0x5c) out += '\\' + String.fromCharCode(b);
    else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
    else out += '\\' + String(b).padStart(3, '0');
  }
  return out + '"';
}

function formatIpv6(b: Buffer): string {
  const words = Array.from({ length: 8 }, (_, i) => b.readUInt16BE(i * 2));
  // RFC 5952 §4.2: the longest run of two or more zero groups becomes `::` (the first on a tie).
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (best === -1) return hex.join(':');
  return hex.slice(0, best).join(':') + '::' + hex.slice(best + bestLen).join(':');
}

function formatTime(seconds: number): string {
  const d = new Date(seconds * 1000);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}

function decodeBitmap(r: Reader): string[] {
  const names: string[] = [];
  let lastWindow = -1;
  while (!r.done) {
    const window = r.u8();
    const len = r.u8();
    if (window <= lastWindow || len < 1 || len > 32) throw new Error('malformed NSEC type bitmap');
    lastWindow = window;
    const bits = r.bytes(len);
    if (bits[len - 1] === 0) throw new Error('NSEC type bitmap window has trailing zero octets');
    bits.forEach((byte, i) => {
      for (let bit = 0; bit < 8; bit++) if (byte & (0x80 >> bit)) names.push(typeToName((window << 8) | (i * 8 + bit)));
    });
  }
  return names;
}

/**
 * Decodes RDATA by schema into presentation tokens. Throws when the bytes do not fit the schema
 * exactly, or would not parse back to the same bytes (then the caller falls back to `\#`).
 */
function decodeFields(schema: readonly Field[], rdata: Buffer): string[] {
  const r = new Reader(rdata);
  const out: string[] = [];
  for (const [kind] of schema) {
    switch (kind) {
      case 'u8':
      case 'alg':
        out.push(String(r.u8()));
        break;
      case 'u16':
        out.push(String(r.u16()));
        break;
      case 'u32':
      case 'timer':
        out.push(String(r.u32()));
        break;
      case 'type':
        out.push(typeToName(r.u16()));
        break;
      case 'time':
        out.push(formatTime(r.u32()));
        break;
      case 'ipv4':
        out.push(Array.from(r.bytes(4)).join('.'));
        break;
      case 'ipv6':
        out.push(formatIpv6(r.bytes(16)));
        break;
      case 'name':
        out.push(formatName(r.labels()));
        break;
      case 'string':
        out.push(formatString(r.bytes(r.u8())));
        break;
      case 'caa-tag': {
        const tag = r.bytes(r.u8()).toString('latin1');
        if (!/^[A-Za-z0-9]{1,15}$/.test(tag)) throw new Error('CAA tag is not 1-15 letters and digits');
        out.push(tag);
        break;
      }
      case 'caa-value':
        out.push(formatString(r.rest()));
        break;
      case 'strings*':
        if (r.done) throw new Error('no character-strings');
        while (!r.done) out.push(formatString(r.bytes(r.u8())));
        break;
      case 'hex*':
        if (r.done) throw new Error('empty data');
        out.push(r.rest().toString('hex').toUpperCase());
        break;
      case 'base64*':
        if (r.done) throw new Error('empty data');
        out.push(r.rest().toString('base64'));
        break;
      case 'bitmap*':
        out.push(...decodeBitmap(r));
        break;
      case 'svcparams*':
        out.push(...decodeSvcParams(r));
        break;
    }
  }
  if (!r.done) throw new Error(`${rdata.length - r.off} octets left over`);
  return out;
}

function formatGeneric(rdata: Buffer): string {
  return rdata.length === 0 ? '\\# 0' : `\\# ${rdata.length} ${rdata.toString('hex').toUpperCase()}`;
}

/**
 * Formats wire RDATA as presentation text: names absolute with a trailing dot (case kept),
 * character-strings quoted and escaped, numbers in decimal, digests in upper-case hex, keys and
 * signatures in base64. Types without a format here, and RDATA that does not decode for its
 * type, come out in RFC 3597 §5 form `\# <length> <hex>`. {@link parseRdata} of the result gives
 * back the same bytes.
 */
export function formatRdata(type: number, rdata: Buffer): string {
  const schema = SCHEMAS.get(type);
  if (!schema || isMetaType(type)) return formatGeneric(rdata);
  try {
    return decodeFields(schema, rdata).join(' ');
  } catch {
    return formatGeneric(rdata);
  }
}

// ---------------------------------------------------------------------------------------------
// Structured reads
// ---------------------------------------------------------------------------------------------

/** Offset of the name a type points at, for the types that point at one. */
function targetOffset(type: number, rdata: Buffer): number | null {
  switch (type) {
    case RRType.NS:
    case RRType.CNAME:
    case RRType.DNAME:
    case RRType.PTR:
      return 0;
    case RRType.MX:
      return 2;
    case RRType.SRV:
      return 6;
    case RRType.NAPTR: {
      // RFC 3403 §4.1: order, preference, then three character-strings before the replacement.
      let off = 4;
      for (let k = 0; k < 3; k++) {
        if (off >= rdata.length) return null;
        off += 1 + rdata[off]!;
      }
      return off;
    }
    default:
      return null;
  }
}

/**
 * The key of the name a record points at: NS and PTR targets, CNAME and DNAME targets, MX
 * exchange, SRV target, NAPTR replacement. `null` for other types and for malformed RDATA.
 * Used for additional-section processing and for following CNAMEs.
 */
export function rdataTargetKey(type: number, rdata: Buffer): string | null {
  const off = targetOffset(type, rdata);
  if (off === null) return null;
  try {
    const r = new Reader(rdata);
    r.off = off;
    return labelsToKey(r.labels());
  } catch {
    return null;
  }
}

/** The fields of an SOA record (RFC 1035 §3.3.13); `mname` and `rname` are keys. */
export interface SoaFields {
  mname: string;
  rname: string;
  serial: number;
  refresh: number;
  retry: number;
  expire: number;
  minimum: number;
}

/** Reads SOA RDATA. Throws on malformed bytes (parsed zones never hold any). */
export function soaFields(rdata: Buffer): SoaFields {
  const r = new Reader(rdata);
  const mname = labelsToKey(r.labels());
  const rname = labelsToKey(r.labels());
  return { mname, rname, serial: r.u32(), refresh: r.u32(), retry: r.u32(), expire: r.u32(), minimum: r.u32() };
}

/** A copy of SOA RDATA with its serial replaced (`serial` is taken modulo 2^32, RFC 1982). */
export function withSoaSerial(rdata: Buffer, serial: number): Buffer {
  const r = new Reader(rdata);
  r.labels();
  r.labels();
  r.need(20);
  const out = Buffer.from(rdata);
  out.writeUInt32BE(((serial % 2 ** 32) + 2 ** 32) % 2 ** 32, r.off);
  return out;
}
