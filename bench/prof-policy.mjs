// Profiles the query path in-process: node bench/prof-policy.mjs [name] (default api.gslb.example.org)
// Add --cpu-prof to see where the time goes. Compare with www.example.net (a static answer).
import { DEFAULT_PIPELINE_OPTIONS, handleQuery } from '../dist/dns/pipeline.js';
import { SnapshotHolder } from '../dist/state/snapshot.js';
import { checkZoneDir } from '../dist/state/file-source.js';
import dnsPacket from 'dns-packet';
const name = process.argv[2] ?? 'api.gslb.example.org';
const { zones } = await checkZoneDir('zones');
const holder = new SnapshotHolder(zones);
// What a node's sockets share (dns/pipeline.ts QueryEnv).
const env = { snapshots: holder, options: DEFAULT_PIPELINE_OPTIONS };
const msg = dnsPacket.encode({
  id: 1,
  type: 'query',
  questions: [{ name, type: 'A' }],
  additionals: [
    {
      type: 'OPT',
      name: '.',
      udpPayloadSize: 1232,
      options: [{ code: 'CLIENT_SUBNET', family: 1, sourcePrefixLength: 24, scopePrefixLength: 0, ip: '81.2.69.0' }],
    },
  ],
});
const ctx = { transport: 'udp', remoteAddress: '127.0.0.1' };
const n = 200_000;
for (let r = 0; r < 5; r++) {
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) handleQuery(msg, ctx, env);
  console.log(name, (Number(process.hrtime.bigint() - t) / 1e3 / n).toFixed(3), 'us/query');
}
