// The cost of one cold signature (no cache hit), by algorithm: ZoneSigner.sign over distinct
// RRsets, the work compact denial does for each new nonexistent name. npm run bench:dnssec runs it.
import { generateKey, signingKeys } from '../dist/dnssec/keys.js';
import { ZoneSigner } from '../dist/dnssec/signer.js';

for (const [name, alg] of [
  ['ECDSA P-256 (13)', 13],
  ['Ed25519 (15)', 15],
]) {
  const now = new Date();
  const record = { version: 1, zone: 'gslb.example.org', enabled: true, algorithm: alg, dnskeyTtlSeconds: null, keys: [generateKey(alg, now)], rollover: null };
  const signer = new ZoneSigner('gslb.example.org', signingKeys(record, now), 'api', null);
  const n = 20_000;
  const sets = Array.from({ length: n + 2000 }, (_, i) => ({ owner: `nx${i}.gslb.example.org`, type: 47, ttlSeconds: 60, rdatas: [Buffer.from(`\0nx${i}`)] }));
  for (let i = 0; i < 2000; i++) signer.sign(sets[n + i], sets[n + i].owner); // warm up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) signer.sign(sets[i], sets[i].owner);
  const cold = Number(process.hrtime.bigint() - t0) / 1000 / n;
  const t1 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) signer.sign(sets[i], sets[i].owner);
  const warm = Number(process.hrtime.bigint() - t1) / 1000 / n;
  console.log(`${name.padEnd(18)} cold signature ${cold.toFixed(1)} us   cached ${warm.toFixed(2)} us`);
}
