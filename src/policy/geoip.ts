/**
 * @module policy/geoip
 * Where a client is: country, subdivision, continent and coordinates, from a geolocation
 * database ({@link GeoDatabase}), plus the ECS scope that answer is good for (RFC 7871 §7.2.1):
 * the number of leading bits of the client's address that the location depended on. Two
 * databases implement it: the embedded default, geoip-lite (MaxMind GeoLite2 data shipped in the
 * package; {@link embeddedGeoip}), and a MaxMind DB file the operator keeps fresh
 * (`serve --geoip-db FILE`, policy/mmdb.ts). Policies take the database from their evaluation
 * context (`ctx.geo`), so a reloaded file answers from the next query on.
 *
 * The scope is true for every address inside it, and may be longer than the source prefix: the
 * client's address is read with every bit past the source prefix zero (policy/client.ts), and
 * the scope is the widest block around that address in which the database says the same thing.
 * A /16 source whose address falls in a /20 block gets scope 20 ("not specific enough",
 * RFC 7871 §7.2.1). geoip-lite answers with the IPv4 range a location came from, but not with
 * the range of an IPv6 answer nor of the gap around an address it does not know; those come from
 * the range bounds of its own data files, read once beside it ({@link EmbeddedGeoip}).
 *
 * geoip-lite holds ~190 MB of data, so it is loaded the first time a zone that needs it is
 * compiled (unless a file database is in force), never on the query path.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { countries } from 'countries-list';
import type { Client } from './client.js';

export interface Location {
  /** ISO 3166-1 alpha-2, or '' when unknown. */
  readonly country: string;
  /** ISO 3166-2 code (`US-CA`, `GB-ENG`), or ''. */
  readonly subdivision: string;
  /** AF AN AS EU NA OC SA, or ''. */
  readonly continent: string;
  /** City name when the database has one, else ''. */
  readonly city: string;
  /** Coordinates, or NaN when unknown. */
  readonly lat: number;
  readonly lon: number;
  /** Leading bits of the (zero-padded) client address this location holds for (RFC 7871 §7.2.1). */
  readonly scope: number;
}

/** What a database is, for the simulator, `meridian check` and the logs. */
export interface GeoSource {
  /** `embedded` (geoip-lite) or `file` (a MaxMind DB file). */
  readonly kind: 'embedded' | 'file';
  /** `geoip-lite 1.4.10`, or the file's path. */
  readonly name: string;
  /** The MaxMind DB `database_type` (`GeoIP2-City`, `DBIP-City-Lite`…); `GeoLite2 (geoip-lite)` for the embedded one. */
  readonly type: string;
  /** When the data was built (ISO 8601), or null when unknown. */
  readonly builtAt: string | null;
}

/** A geolocation database: one per file loaded, replaced whole on reload. */
export interface GeoDatabase {
  readonly source: GeoSource;
  /** Locates a client; never throws, never awaits. Cached per address and prefix. */
  locate(client: Client): Location;
}

/** Continent of an ISO 3166-1 alpha-2 country, or undefined when the code is not one. */
export function continentOf(country: string): string | undefined {
  return (countries as Record<string, { continent: string } | undefined>)[country]?.continent;
}

/** True for the seven continent codes. */
export function isContinent(code: string): boolean {
  return ['AF', 'AN', 'AS', 'EU', 'NA', 'OC', 'SA'].includes(code);
}

/**
 * The shortest prefix whose block around `addr` lies within [start, end] (`bits`-bit numbers as
 * bigints): the number of leading bits that decide whether an address is in the range.
 */
export function scopeWithin(addr: bigint, start: bigint, end: bigint, bits: number): number {
  for (let len = 0; len < bits; len++) {
    const size = 1n << BigInt(bits - len);
    const blockStart = (addr / size) * size;
    if (blockStart >= start && blockStart + size - 1n <= end) return len;
  }
  return bits;
}

export const nowhere = (scope: number): Location => ({ country: '', subdivision: '', continent: '', city: '', lat: NaN, lon: NaN, scope });

/** A per-database cache of locations by address and prefix (locations are shared objects, so memos can key on them). */
export class LocationCache {
  readonly #map = new Map<string | number, Location>();
  static readonly MAX = 50_000;

  get(client: Client, compute: () => Location): Location {
    const b = client.bytes;
    // IPv4: a number (address × 64 + prefix) hashes without building a string.
    const key =
      client.family === 4 ? (((b[0]! << 24) >>> 0) + (b[1]! << 16) + (b[2]! << 8) + b[3]!) * 64 + client.sourcePrefix : `${client.text}/${client.sourcePrefix}`;
    let loc = this.#map.get(key);
    if (loc) return loc;
    loc = compute();
    if (this.#map.size >= LocationCache.MAX) this.#map.clear();
    this.#map.set(key, loc);
    return loc;
  }
}

interface GeoipResult {
  range: [number, number] | '';
  country: string;
  region: string;
  city?: string;
  ll: [number | null, number | null];
}
interface GeoipLite {
  lookup(ip: string): GeoipResult | null;
}

/** IPv4 ranges geoip-lite answers null for whatever its data says (its `privateRange4`). */
const GEOIP_LITE_PRIVATE: readonly [number, number][] = [
  [0x0a000000, 0x0affffff],
  [0xac100000, 0xac1fffff],
  [0xc0a80000, 0xc0a8ffff],
];

/**
 * Sorted [start, end] bounds of a geoip-lite data file, as 32-bit words: one word per bound for
 * IPv4; two (high, low) for IPv6, whose bounds are the upper 64 bits, as geoip-lite compares them.
 */
interface Bounds {
  readonly words: 1 | 2;
  readonly start: Uint32Array;
  readonly end: Uint32Array;
}

function boundAt(a: Uint32Array, i: number, words: 1 | 2): bigint {
  return words === 1 ? BigInt(a[i]!) : (BigInt(a[2 * i]!) << 32n) | BigInt(a[2 * i + 1]!);
}

/** {@link runAround} for IPv4 (one word per bound), in plain numbers. */
function runAround4(b: Bounds, x: number): [number, number] {
  const { start, end } = b;
  let lo = 0;
  let hi = start.length - 1;
  let i = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (start[mid]! <= x) {
      i = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  if (i >= 0 && x <= end[i]!) return [start[i]!, end[i]!];
  return [i >= 0 ? end[i]! + 1 : 0, i + 1 < start.length ? start[i + 1]! - 1 : 0xffffffff];
}

/** {@link scopeWithin} for 32-bit numbers. */
export function scopeWithin32(addr: number, start: number, end: number): number {
  for (let len = 0; len < 32; len++) {
    const size = 2 ** (32 - len);
    const blockStart = Math.floor(addr / size) * size;
    if (blockStart >= start && blockStart + size - 1 <= end) return len;
  }
  return 32;
}

/** The run [lo, hi] of consecutive values around `x` that share one record, or one gap between records. */
function runAround(b: Bounds, x: bigint, max: bigint): [bigint, bigint] {
  const n = b.start.length / b.words;
  let lo = 0;
  let hi = n - 1;
  let i = -1; // last record with start <= x
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (boundAt(b.start, mid, b.words) <= x) {
      i = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  if (i >= 0 && x <= boundAt(b.end, i, b.words)) return [boundAt(b.start, i, b.words), boundAt(b.end, i, b.words)];
  return [i >= 0 ? boundAt(b.end, i, b.words) + 1n : 0n, i + 1 < n ? boundAt(b.start, i + 1, b.words) - 1n : max];
}

/** Reads the bounds of every record: big-endian words at offset 0 (start) and `endAt` (end) of each record. */
function readBounds(file: string, recordSize: number, v6: boolean): Bounds {
  const buf = fs.readFileSync(file);
  const n = Math.floor(buf.length / recordSize);
  const words = v6 ? 2 : 1;
  const endAt = v6 ? 16 : 4;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const start = new Uint32Array(n * words);
  const end = new Uint32Array(n * words);
  for (let i = 0, o = 0; i < n; i++, o += recordSize) {
    if (words === 1) {
      start[i] = view.getUint32(o);
      end[i] = view.getUint32(o + endAt);
    } else {
      start[2 * i] = view.getUint32(o);
      start[2 * i + 1] = view.getUint32(o + 4);
      end[2 * i] = view.getUint32(o + endAt);
      end[2 * i + 1] = view.getUint32(o + endAt + 4);
    }
  }
  return { words, start, end };
}

/**
 * geoip-lite, with true scopes: the location from geoip-lite's lookup, the scope from the bounds
 * of the record (or gap) holding the address in geoip-lite's own data files (the city files when
 * present, else the country files, as geoip-lite chooses). The bounds take about 45 MB beside
 * geoip-lite's 190.
 */
export class EmbeddedGeoip implements GeoDatabase {
  readonly source: GeoSource;
  readonly #lite: GeoipLite;
  readonly #v4: Bounds;
  readonly #v6: Bounds;
  readonly #cache = new LocationCache();

  constructor() {
    const require = createRequire(import.meta.url);
    this.#lite = require('geoip-lite') as GeoipLite;
    const pkg = require.resolve('geoip-lite/package.json');
    // Where geoip-lite reads its data (lib/geoip.js: global.geodatadir, GEODATADIR, else ../data).
    const dir = path.resolve(path.dirname(pkg), 'lib', (globalThis as { geodatadir?: string }).geodatadir ?? process.env['GEODATADIR'] ?? '../data/');
    const city = fs.existsSync(path.join(dir, 'geoip-city.dat')) && fs.existsSync(path.join(dir, 'geoip-city-names.dat'));
    this.#v4 = city ? readBounds(path.join(dir, 'geoip-city.dat'), 24, false) : readBounds(path.join(dir, 'geoip-country.dat'), 10, false);
    this.#v6 = fs.existsSync(path.join(dir, 'geoip-city6.dat'))
      ? readBounds(path.join(dir, 'geoip-city6.dat'), 48, true)
      : readBounds(path.join(dir, 'geoip-country6.dat'), 34, true);
    this.source = embeddedSource();
  }

  locate(client: Client): Location {
    return this.#cache.get(client, () => this.#lookup(client));
  }

  #lookup(client: Client): Location {
    // RFC 7871 §7.1.2: a source prefix of 0 asks for an answer that does not depend on the client.
    if (client.sourcePrefix === 0) return nowhere(0);
    const b = client.bytes;
    let scope: number;
    if (client.family === 4) {
      const addr = ((b[0]! << 24) >>> 0) + (b[1]! << 16) + (b[2]! << 8) + b[3]!;
      let [lo, hi] = runAround4(this.#v4, addr);
      for (const [a, z] of GEOIP_LITE_PRIVATE) {
        if (addr >= a && addr <= z) [lo, hi] = [a, z];
        else if (addr < a && hi >= a) hi = a - 1;
        else if (addr > z && lo <= z) lo = z + 1;
      }
      scope = scopeWithin32(addr, lo, hi);
    } else {
      // geoip-lite takes ::ffff:0:0/96 for IPv4-mapped text it then cannot parse: nothing, for the whole /96.
      if (b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) return nowhere(96);
      const upper = Buffer.from(b.buffer, b.byteOffset, 8).readBigUInt64BE(0);
      const [lo, hi] = runAround(this.#v6, upper, 0xffffffffffffffffn);
      scope = scopeWithin(upper, lo, hi, 64);
    }
    let r: GeoipResult | null;
    try {
      r = this.#lite.lookup(client.text);
    } catch {
      r = null;
    }
    if (!r?.country) return nowhere(scope);
    return {
      country: r.country,
      subdivision: r.region ? `${r.country}-${r.region}` : '',
      continent: continentOf(r.country) ?? '',
      city: r.city ?? '',
      lat: r.ll[0] ?? NaN,
      lon: r.ll[1] ?? NaN,
      scope,
    };
  }
}

/** What the embedded database is, without loading it. */
export function embeddedSource(): GeoSource {
  if (embedded) return embedded.source;
  const require = createRequire(import.meta.url);
  const version = (JSON.parse(fs.readFileSync(require.resolve('geoip-lite/package.json'), 'utf8')) as { version: string }).version;
  return { kind: 'embedded', name: `geoip-lite ${version}`, type: 'GeoLite2 (geoip-lite)', builtAt: null };
}

let embedded: EmbeddedGeoip | undefined;

/** The embedded database (geoip-lite), loaded (synchronously) on first use. */
export function embeddedGeoip(): GeoDatabase {
  embedded ??= new EmbeddedGeoip();
  return embedded;
}

let preloadEmbedded = true;

/**
 * Whether compiling a zone that needs geolocation loads geoip-lite at once (the default). A node
 * with its own database file turns it off, so geoip-lite's 190 MB are never read.
 */
export function setEmbeddedPreload(on: boolean): void {
  preloadEmbedded = on;
}

/** Loads geoip-lite's data now (synchronously), if it is not loaded yet and preloading is on. */
export function loadGeoip(): void {
  if (preloadEmbedded) embeddedGeoip();
}

/** Locates a client in `db` (null or absent: the embedded database, loaded on first use). */
export function locate(client: Client, db?: GeoDatabase | null): Location {
  return (db ?? embeddedGeoip()).locate(client);
}

/** The database that answers when `db` is the one in force (null: the embedded one, not loaded for this). */
export function geoSourceOf(db: GeoDatabase | null | undefined): GeoSource {
  return db ? db.source : embeddedSource();
}
