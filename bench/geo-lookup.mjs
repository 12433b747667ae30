// Geolocation lookups that miss the location cache, in-process: node bench/geo-lookup.mjs [FILE.mmdb]
// (npm run build first). Each lookup is a new random client network (IPv4 /24, IPv6 /48), so
// every one goes to the database: geoip-lite with its range bounds (policy/geoip.ts), and a
// MaxMind DB file (policy/mmdb.ts; default the synthetic test database, or give a GeoLite2 file).
// The DNS path caches locations per client network, so this is the cost of a first query from a
// network, not of every query.
import fs from 'node:fs';
import { clientFromText } from '../dist/policy/client.js';
import { embeddedGeoip } from '../dist/policy/geoip.js';
import { openMmdb } from '../dist/policy/mmdb.js';
import { seededRandom } from '../dist/policy/evaluate.js';

const file = process.argv[2] ?? 'test/fixtures/geo/gslb-test-city.mmdb';
const n = 100_000;

let t = performance.now();
const lite = embeddedGeoip();
console.log(`geoip-lite load (with range bounds): ${(performance.now() - t).toFixed(0)} ms`);
t = performance.now();
const mmdb = openMmdb(fs.readFileSync(file), file);
console.log(`${file} load and check: ${(performance.now() - t).toFixed(0)} ms`);

function clients(seed, family) {
  const rng = seededRandom(seed);
  const out = [];
  for (let i = 0; i < n; i++) {
    const r = () => Math.floor(rng() * 256);
    const text =
      family === 4
        ? `${1 + Math.floor(rng() * 222)}.${r()}.${r()}.0/24`
        : `2${Math.floor(rng() * 16).toString(16)}${r().toString(16).padStart(2, '0')}:${(r() * 256 + r()).toString(16)}:${(r() * 256 + r()).toString(16)}::/48`;
    out.push(clientFromText(text));
  }
  return out;
}

for (const [name, db] of [
  ['geoip-lite', lite],
  ['mmdb', mmdb],
]) {
  for (const family of [4, 6]) {
    // Fresh networks for every round (new seed): nothing is served from the cache.
    for (let round = 0; round < 3; round++) {
      const list = clients(family * 100 + round + (name === 'mmdb' ? 50 : 0), family);
      const start = performance.now();
      let found = 0;
      for (const c of list) if (db.locate(c).country) found++;
      const us = ((performance.now() - start) * 1000) / n;
      console.log(`${name.padEnd(10)} IPv${family} uncached: ${us.toFixed(2)} us/lookup (${((100 * found) / n).toFixed(0)}% located)`);
    }
  }
}
