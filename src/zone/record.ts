/**
 * @module zone/record
 * The record model that both zone formats (RFC 1035 master files and Meridian YAML) produce,
 * and that zone/zone.ts (`buildZone`) validates and indexes into a served zone. Parsers never
 * touch the live snapshot: they return these values plus the problems they found.
 */
import type { SourcePosition, ZoneError } from '../errors.js';
import type { CompiledPolicies } from '../policy/compile.js';

/** One resource record as parsed from a file, before validation across records. */
export interface ZoneRecord {
  /** Owner name as a key (see proto/name.ts): lowercase, absolute, no trailing dot. */
  owner: string;
  /** RR type number (RFC 1035 §3.2.2, IANA registry). */
  type: number;
  /** TTL in seconds, 0 to 2^31-1 (RFC 2181 §8). */
  ttlSeconds: number;
  /** The RDATA in uncompressed wire form, exactly as it will be sent. */
  rdata: Buffer;
  /** Where the record was written. */
  at: SourcePosition;
  /** The record as the operator wrote it (one line, trimmed), for error messages. */
  text: string;
}

/** What a zone file parser returns: the zone's records, or the problems that stop it loading. */
export interface ParsedZone {
  /** The zone origin as a key. */
  origin: string;
  records: ZoneRecord[];
  /** Addresses allowed to AXFR the zone, as CIDR strings; `undefined` means the default (loopback). */
  transferAllow?: string[];
  /** Regions, pools and policy records (YAML zones only). */
  policies?: CompiledPolicies;
  /** The document's `dnssec:` block (YAML zones only): the zone asks to be signed. */
  dnssec?: ZoneDnssec;
  /** Every problem found; a zone with any problem is not loaded. */
  errors: ZoneError[];
  /** The file it came from. */
  file: string;
}

/** What a zone document says about signing (its `dnssec:` block), parsed. */
export interface ZoneDnssec {
  /** DNSSEC algorithm number (13 or 15). */
  readonly algorithm: number;
  /** DNSKEY/CDS/CDNSKEY TTL; null: the SOA's TTL. */
  readonly dnskeyTtlSeconds: number | null;
}
