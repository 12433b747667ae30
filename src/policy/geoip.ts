/**
 * @module policy/geoip
 * Where a client is: country, subdivision, continent and coordinates from geoip-lite (MaxMind
 * GeoLite2 data shipped in the package), plus the ECS scope that answer is good for: the widest
 * block around the client that lies inside the geoip range it came from (gdnsd's geoip plugin
 * works the same way). geoip-lite holds ~190 MB of data, so it is loaded the first time a zone
 * that needs it is compiled, never on the query path.
 *
 * geoip-lite does not report the range of IPv6 answers, so for IPv6 the scope is the client's
 * whole source prefix (correct, if narrower than it could be).
 */
import { createRequire } from 'node:module';
import { countries } from 'countries-list';
import type { Client } from './client.js';

export interface Location {
  /** ISO 3166-1 alpha-2, or '' when unknown. */
  readonly country: string;
  /** ISO 3166-2 code (`US-CA`, `GB-ENG`), or ''. */
  readonly subdivision: string;
  /** AF AN AS EU NA OC SA, or ''. */
  readonly continent: string;
  /** Coordinates, or NaN when unknown. */
  readonly lat: number;
  readonly lon: number;
  /** Leading bits of the client address this location holds for (RFC 7871 §7.2.1). */
  readonly scope: number;
}

interface GeoipResult {
  range: [number, number] | '';
  country: string;
  region: string;
  ll: [number | null, number | null];
}
interface GeoipLite {
  lookup(ip: string): GeoipResult | null;
}

let geoip: GeoipLite | undefined;

/** Loads geoip-lite's data now (synchronously), if it is not loaded yet. */
export function loadGeoip(): void {
  geoip ??= createRequire(import.meta.url)('geoip-lite') as GeoipLite;
}

/** Continent of an ISO 3166-1 alpha-2 country, or undefined when the code is not one. */
export function continentOf(country: string): string | undefined {
  return (countries as Record<string, { continent: string } | undefined>)[country]?.continent;
}

/** True for the seven continent codes. */
export function isContinent(code: string): boolean {
  return ['AF', 'AN', 'AS', 'EU', 'NA', 'OC', 'SA'].includes(code);
}

/** The shortest prefix whose block around `addr` (a 32-bit number) lies within [start, end]. */
export function scopeWithin(addr: number, start: number, end: number, sourcePrefix: number): number {
  for (let len = 0; len < 32; len++) {
    const size = 2 ** (32 - len);
    const blockStart = Math.floor(addr / size) * size;
    if (blockStart >= start && blockStart + size - 1 <= end) return Math.min(len, sourcePrefix);
  }
  return Math.min(32, sourcePrefix);
}

const NOWHERE = (scope: number): Location => ({ country: '', subdivision: '', continent: '', lat: NaN, lon: NaN, scope });

const cache = new Map<string | number, Location>();
const CACHE_MAX = 50_000;

/** Locates a client. Cached per address and prefix; safe to call per query. */
export function locate(client: Client): Location {
  const b = client.bytes;
  // IPv4: a number (address × 64 + prefix) hashes without building a string.
  const key =
    client.family === 4 ? (((b[0]! << 24) >>> 0) + (b[1]! << 16) + (b[2]! << 8) + b[3]!) * 64 + client.sourcePrefix : `${client.text}/${client.sourcePrefix}`;
  let loc = cache.get(key);
  if (loc) return loc;
  loc = lookupUncached(client);
  if (cache.size >= CACHE_MAX) cache.clear();
  cache.set(key, loc);
  return loc;
}

function lookupUncached(client: Client): Location {
  loadGeoip();
  if (client.sourcePrefix === 0) return NOWHERE(0);
  const r = geoip!.lookup(client.text);
  if (!r?.country) return NOWHERE(client.sourcePrefix);
  let scope = client.sourcePrefix;
  if (client.family === 4 && Array.isArray(r.range)) {
    const b = client.bytes;
    const addr = ((b[0]! << 24) >>> 0) + (b[1]! << 16) + (b[2]! << 8) + b[3]!;
    scope = scopeWithin(addr, r.range[0], r.range[1], client.sourcePrefix);
  }
  return {
    country: r.country,
    subdivision: r.region ? `${r.country}-${r.region}` : '',
    continent: continentOf(r.country) ?? '',
    lat: r.ll[0] ?? NaN,
    lon: r.ll[1] ?? NaN,
    scope,
  };
}
