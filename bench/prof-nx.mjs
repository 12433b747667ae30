import { DEFAULT_PIPELINE_OPTIONS, handleQuery } from '../dist/dns/pipeline.js';
import { SnapshotHolder } from '../dist/state/snapshot.js';
import { checkZoneDir } from '../dist/state/file-source.js';
import dnsPacket from 'dns-packet';
const { zones } = await checkZoneDir('zones');
const holder = new SnapshotHolder(zones);
// What a node's sockets share (dns/pipeline.ts QueryEnv).
const env = { snapshots: holder, options: DEFAULT_PIPELINE_OPTIONS };
const msgs = [];
for (let i = 0; i < 50000; i++) msgs.push(dnsPacket.encode({ id: 1, type: 'query', questions: [{ name: `nx${i}.example.net`, type: 'A' }] }));
const ctx = { transport: 'udp', remoteAddress: '127.0.0.1' };
for (let r = 0; r < 5; r++) {
  const t = process.hrtime.bigint();
  for (const m of msgs) handleQuery(m, ctx, env);
  console.log(Number(process.hrtime.bigint() - t) / 1e3 / msgs.length, 'us/query');
}
