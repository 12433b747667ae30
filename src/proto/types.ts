/**
 * @module proto/types
 * The RR TYPE registry: numbers, mnemonics and the conversions between them (IANA "Resource
 * Record (RR) TYPEs", RFC 6895 §3.1). Zone parsers (zone/master-file.ts, zone/yaml-zone.ts),
 * proto/rdata.ts, the query pipeline and the answer builder use these constants instead of bare
 * numbers. Only the IN class is served, so the class registry is the single {@link CLASS_IN}.
 */

/** RR TYPE numbers by mnemonic (`NSAP-PTR` is spelled `NSAP_PTR` here). */
export const RRType = {
  A: 1,
  NS: 2,
  MD: 3,
  MF: 4,
  CNAME: 5,
  SOA: 6,
  MB: 7,
  MG: 8,
  MR: 9,
  NULL: 10,
  WKS: 11,
  PTR: 12,
  HINFO: 13,
  MINFO: 14,
  MX: 15,
  TXT: 16,
  RP: 17,
  AFSDB: 18,
  X25: 19,
  ISDN: 20,
  RT: 21,
  NSAP: 22,
  NSAP_PTR: 23,
  SIG: 24,
  KEY: 25,
  PX: 26,
  GPOS: 27,
  AAAA: 28,
  LOC: 29,
  NXT: 30,
  EID: 31,
  NIMLOC: 32,
  SRV: 33,
  ATMA: 34,
  NAPTR: 35,
  KX: 36,
  CERT: 37,
  A6: 38,
  DNAME: 39,
  SINK: 40,
  OPT: 41,
  APL: 42,
  DS: 43,
  SSHFP: 44,
  IPSECKEY: 45,
  RRSIG: 46,
  NSEC: 47,
  DNSKEY: 48,
  DHCID: 49,
  NSEC3: 50,
  NSEC3PARAM: 51,
  TLSA: 52,
  SMIMEA: 53,
  HIP: 55,
  NINFO: 56,
  RKEY: 57,
  TALINK: 58,
  CDS: 59,
  CDNSKEY: 60,
  OPENPGPKEY: 61,
  CSYNC: 62,
  ZONEMD: 63,
  SVCB: 64,
  HTTPS: 65,
  DSYNC: 66,
  SPF: 99,
  UINFO: 100,
  UID: 101,
  GID: 102,
  UNSPEC: 103,
  NID: 104,
  L32: 105,
  L64: 106,
  LP: 107,
  EUI48: 108,
  EUI64: 109,
  /** RFC 9824 §2: the meta type in a compact-denial NSEC that marks a name as nonexistent. */
  NXNAME: 128,
  TKEY: 249,
  TSIG: 250,
  IXFR: 251,
  AXFR: 252,
  MAILB: 253,
  MAILA: 254,
  ANY: 255,
  URI: 256,
  CAA: 257,
  AVC: 258,
  DOA: 259,
  AMTRELAY: 260,
  RESINFO: 261,
  WALLET: 262,
  TA: 32768,
  DLV: 32769,
} as const;

/** The IN class (RFC 1035 §3.2.4), the only one Meridian serves. */
export const CLASS_IN = 1;

const byNumber = new Map<number, string>();
const byName = new Map<string, number>();
for (const [key, value] of Object.entries(RRType)) {
  const mnemonic = key === 'NSAP_PTR' ? 'NSAP-PTR' : key;
  byNumber.set(value, mnemonic);
  byName.set(mnemonic, value);
}

/**
 * The type number for a mnemonic (case-insensitive, so `mx` and `MX` are both 15), or for the
 * RFC 3597 §5 generic form `TYPEnnn` (`TYPE1` is A, `TYPE65280` is a private-use type).
 * Returns `undefined` for anything else, including `TYPE65536`.
 */
export function typeFromName(text: string): number | undefined {
  const upper = text.toUpperCase();
  const known = byName.get(upper);
  if (known !== undefined) return known;
  const m = /^TYPE([0-9]{1,5})$/.exec(upper);
  if (!m) return undefined;
  const n = Number(m[1]);
  return n <= 0xffff ? n : undefined;
}

/** The mnemonic for a type number, or `TYPEnnn` (RFC 3597 §5) when it has none. */
export function typeToName(type: number): string {
  return byNumber.get(type) ?? `TYPE${type}`;
}
