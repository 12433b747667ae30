/**
 * @module policy/mmdb
 * A MaxMind DB file (GeoIP2 / GeoLite2 City or Country, or a DB-IP file in the same format) as a
 * {@link GeoDatabase}, read with the `maxmind` package's reader. {@link openMmdb} checks the
 * whole file before it is used — the metadata, every node of the search tree (each record points
 * at a node, at "nothing", or inside the data section) and a sample of the data records — so a
 * truncated or corrupt file is refused at load (state/geoip-file.ts keeps the database in force
 * then) instead of failing queries. A lookup that still fails answers "nowhere", never throws.
 *
 * The reader reports the prefix length of the tree node each lookup ended in: every address of
 * that block gets the same record (or the same "not found"), so it is the ECS scope of the
 * location (RFC 7871 §7.2.1), for IPv4 (counted from the IPv4 subtree) and IPv6 alike. The file
 * is read into memory whole; GeoLite2-City is about 60 MB.
 */
import { Reader, type CityResponse } from 'maxmind';
import { continentOf, LocationCache, nowhere, type GeoDatabase, type GeoSource, type Location } from './geoip.js';
import type { Client } from './client.js';

const METADATA_MARKER = Buffer.from('abcdef4d61784d696e642e636f6d', 'hex'); // \xAB\xCD\xEF "MaxMind.com"
const DATA_SEPARATOR = 16;
/** Database types that carry no location (rejected: a geo policy would find nobody anywhere). */
const NOT_GEO = /ASN|ISP|Connection-Type|Domain|Anonymous|User-Count|Static-IP/i;

export class MmdbError extends Error {}

/** Checks a MaxMind DB image and returns a database over it; throws {@link MmdbError} with the reason. */
const inputs = new WeakMap<GeoDatabase, { readonly file: string; readonly bytes: Buffer }>();

/** The file name and octets a database was opened from by {@link openMmdb} (a node hands them to its DNS workers, state/replica.ts). */
export function mmdbInput(db: GeoDatabase): { readonly file: string; readonly bytes: Buffer } | undefined {
  return inputs.get(db);
}

export function openMmdb(buf: Buffer, file: string): GeoDatabase {
  let reader: Reader<CityResponse>;
  try {
    reader = new Reader<CityResponse>(buf);
  } catch (err) {
    throw new MmdbError(`not a MaxMind DB file: ${(err as Error).message}`);
  }
  const m = reader.metadata;
  if (m.binaryFormatMajorVersion !== 2) throw new MmdbError(`MaxMind DB format version ${m.binaryFormatMajorVersion} is not 2`);
  if (m.ipVersion !== 4 && m.ipVersion !== 6) throw new MmdbError(`ip_version ${m.ipVersion} is neither 4 nor 6`);
  if (![24, 28, 32].includes(m.recordSize)) throw new MmdbError(`record_size ${m.recordSize} is not 24, 28 or 32`);
  if (NOT_GEO.test(m.databaseType)) throw new MmdbError(`database_type ${m.databaseType} has no locations (a City or Country database is needed)`);
  const metaStart = buf.lastIndexOf(METADATA_MARKER);
  const dataStart = m.searchTreeSize + DATA_SEPARATOR;
  if (metaStart < dataStart) throw new MmdbError(`the search tree (${m.searchTreeSize} octets) does not fit in the file: truncated?`);
  const dataSize = metaStart - dataStart;
  // Every record of every node points at a node, at "not found", or inside the data section.
  const sample = new Set<number>();
  const walker = walkerOf(buf, m.recordSize);
  for (let node = 0; node < m.nodeCount; node++) {
    const offset = node * m.nodeByteSize;
    for (const r of [walker.left(offset), walker.right(offset)]) {
      if (r <= m.nodeCount) continue;
      const at = r - m.nodeCount - DATA_SEPARATOR;
      if (at < 0 || at >= dataSize) throw new MmdbError(`node ${node} points outside the data section: corrupt or truncated file`);
      if (sample.size < 2000) sample.add(r);
    }
  }
  // Decode a sample of the records the tree points at, through the reader itself.
  const decode = reader as unknown as { resolveDataPointer(pointer: number): unknown };
  for (const pointer of sample) {
    try {
      const rec = decode.resolveDataPointer(pointer);
      if (rec === null || typeof rec !== 'object') throw new Error('a record is not a map');
    } catch (err) {
      throw new MmdbError(`a data record does not decode: ${(err as Error).message}`);
    }
  }
  const source: GeoSource = {
    kind: 'file',
    name: file,
    type: m.databaseType,
    builtAt: Number.isFinite(m.buildEpoch.getTime()) ? m.buildEpoch.toISOString() : null,
  };
  const db = new MmdbDatabase(reader, source);
  inputs.set(db, { file, bytes: buf });
  return db;
}

function walkerOf(db: Buffer, recordSize: number): { left(o: number): number; right(o: number): number } {
  if (recordSize === 24) return { left: (o) => db.readUIntBE(o, 3), right: (o) => db.readUIntBE(o + 3, 3) };
  if (recordSize === 28)
    return { left: (o) => ((db[o + 3]! & 0xf0) << 20) | db.readUIntBE(o, 3), right: (o) => ((db[o + 3]! & 0x0f) << 24) | db.readUIntBE(o + 4, 3) };
  return { left: (o) => db.readUInt32BE(o), right: (o) => db.readUInt32BE(o + 4) };
}

class MmdbDatabase implements GeoDatabase {
  readonly #reader: Reader<CityResponse>;
  readonly #cache = new LocationCache();
  readonly #ipv4Only: boolean;

  constructor(
    reader: Reader<CityResponse>,
    readonly source: GeoSource,
  ) {
    this.#reader = reader;
    this.#ipv4Only = reader.metadata.ipVersion === 4;
  }

  locate(client: Client): Location {
    return this.#cache.get(client, () => this.#lookup(client));
  }

  #lookup(client: Client): Location {
    // RFC 7871 §7.1.2: a source prefix of 0 asks for an answer that does not depend on the client.
    if (client.sourcePrefix === 0) return nowhere(0);
    // An IPv4-only database knows no IPv6 address: the same "nowhere" for all of them.
    if (client.family === 6 && this.#ipv4Only) return nowhere(0);
    let rec: CityResponse | null;
    let prefix: number;
    try {
      [rec, prefix] = this.#reader.getWithPrefixLength(client.text);
    } catch {
      return nowhere(client.family === 4 ? 32 : 128);
    }
    if (!rec) return nowhere(prefix);
    const country = rec.country?.iso_code ?? rec.registered_country?.iso_code ?? '';
    const sub = rec.subdivisions?.[0]?.iso_code;
    const continent = rec.continent?.code ?? (country ? continentOf(country) : undefined) ?? '';
    return {
      country,
      subdivision: country && sub ? `${country}-${sub}` : '',
      continent,
      city: rec.city?.names?.en ?? '',
      lat: rec.location?.latitude ?? NaN,
      lon: rec.location?.longitude ?? NaN,
      scope: prefix,
    };
  }
}
