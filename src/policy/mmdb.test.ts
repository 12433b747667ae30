/**
 * MaxMind DB files as geolocation databases (policy/mmdb.ts) and their file watch
 * (state/geoip-file.ts), on the synthetic databases of test/fixtures/geo: locations and block
 * scopes for IPv4, IPv4-mapped IPv6 and unknown addresses (RFC 7871 §7.2.1); files refused whole
 * (cut short, a tree pointing outside the file, no locations); and a reload that keeps the
 * database in force when the new file is bad.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../log.js';
import { GeoipFile, loadGeoipFile } from '../state/geoip-file.js';
import type { LiveTables } from '../state/latency-file.js';
import { clientFromText } from './client.js';
import { openMmdb, MmdbError } from './mmdb.js';

const FIXTURES = new URL('../../test/fixtures/geo/', import.meta.url);
const CITY = fs.readFileSync(new URL('gslb-test-city.mmdb', FIXTURES));
const SWAPPED = fs.readFileSync(new URL('gslb-test-city-swapped.mmdb', FIXTURES));
const at = (db: ReturnType<typeof openMmdb>, text: string) => db.locate(clientFromText(text)!);

describe('openMmdb', () => {
  const db = openMmdb(CITY, 'city.mmdb');

  it('names the file, its database_type and build time', () => {
    expect(db.source).toMatchObject({ kind: 'file', name: 'city.mmdb', type: 'GeoIP2-City' });
    expect(db.source.builtAt).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('locates by the block the address is in, with the block as scope, whatever the source prefix', () => {
    expect(at(db, '198.51.100.0/24')).toMatchObject({ country: 'US', continent: 'NA', city: 'Ashburn', lat: 39.04, lon: -77.49, scope: 24 });
    expect(at(db, '198.51.100.77')).toMatchObject({ country: 'US', scope: 24 });
    expect(at(db, '203.0.113.0/25')).toMatchObject({ country: 'JP', city: 'Tokyo', scope: 24 });
    // A /16 inside 10.0.0.0/8: the whole /8 says Tokyo.
    expect(at(db, '10.20.0.0/16')).toMatchObject({ country: 'JP', scope: 8 });
    // A /8 source over 100.64.0.0/10: the zero-padded address 100.0.0.0 is outside it, in a smaller empty block.
    const wide = at(db, '100.0.0.0/8');
    expect(wide.country).toBe('');
    expect(wide.scope).toBeGreaterThan(8);
    // IPv4-mapped IPv6 aliases the IPv4 tree: 96 bits more.
    expect(at(db, '::ffff:c633:6401')).toMatchObject({ country: 'US', scope: 120 });
    // Unknown: nowhere, scoped to the empty block around the address.
    const none = at(db, '8.8.8.0/24');
    expect(none).toMatchObject({ country: '', continent: '' });
    expect(Number.isNaN(none.lat)).toBe(true);
    expect(none.scope).toBeGreaterThan(0);
    expect(none.scope).toBeLessThanOrEqual(24);
    // RFC 7871 §7.1.2: a /0 source gets no location.
    expect(at(db, '0.0.0.0/0')).toMatchObject({ country: '', scope: 0 });
  });

  it('refuses a file cut short, a tree that points outside the file, and a database without locations', () => {
    expect(() => openMmdb(CITY.subarray(0, CITY.length >> 1), 'x')).toThrow(MmdbError);
    expect(() => openMmdb(Buffer.from('not a database'), 'x')).toThrow(/not a MaxMind DB file/);
    const scrambled = Buffer.from(CITY);
    scrambled.fill(0xff, 0, 64);
    expect(() => openMmdb(scrambled, 'x')).toThrow(/outside the data section/);
    // The same file, its database_type renamed (same length) to an ASN database.
    const asn = Buffer.from(CITY);
    const i = asn.lastIndexOf(Buffer.from('GeoIP2-City'));
    asn.write('GeoLite-ASN', i);
    expect(() => openMmdb(asn, 'x')).toThrow(/has no locations/);
  });
});

describe('GeoipFile', () => {
  it('installs the file, reloads a changed one, and keeps the database in force when the new file is bad', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-mmdb-'));
    const file = path.join(dir, 'city.mmdb');
    fs.writeFileSync(file, CITY);
    const live: LiveTables = { latency: null, geo: null };
    const g = new GeoipFile(file, live, silentLogger());
    try {
      const first = live.geo!;
      expect(first.source.name).toBe(file);
      expect(at(first, '198.51.100.0/24').country).toBe('US');
      expect(g.reload()).toBe('unchanged');
      fs.writeFileSync(`${file}.new`, SWAPPED);
      fs.renameSync(`${file}.new`, file);
      expect(g.reload()).toBe('changed');
      const second = live.geo!;
      expect(second).not.toBe(first);
      expect(at(second, '198.51.100.0/24').country).toBe('JP');
      fs.writeFileSync(file, CITY.subarray(0, 100));
      expect(() => g.reload()).toThrow(file);
      expect(live.geo).toBe(second);
      fs.rmSync(file);
      expect(() => g.reload()).toThrow(/no such file/);
      expect(live.geo).toBe(second);
    } finally {
      g.close();
    }
    expect(() => loadGeoipFile(path.join(dir, 'missing.mmdb'))).toThrow(/missing\.mmdb: no such file/);
  });
});
