// Writes dnsperf query files for bench/run.sh into the directory given.
import fs from 'node:fs';
import path from 'node:path';

const out = process.argv[2] ?? 'bench/out';
fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(path.join(out, 'static.txt'), 'www.example.net A\n');
// Every NXDOMAIN name is different, as in a random-subdomain flood; the answer cache is bounded.
fs.writeFileSync(path.join(out, 'nxdomain.txt'), Array.from({ length: 200_000 }, (_, i) => `nx${i.toString(36)}.example.net A`).join('\n') + '\n');
const mix = [
  'www.example.net A',
  'www.example.net AAAA',
  'example.net SOA',
  'example.net NS',
  'example.net MX',
  'example.net TXT',
  'example.net CAA',
  '_sip._udp.example.net SRV',
  '_http._tcp.example.net NAPTR',
  'portal.example.net A',
  'cdn.example.net A',
  'foo.apps.example.net A',
  'dept.example.net A',
  'host.sub.example.net A',
  'sub.example.net DS',
  '1.2.0.192.in-addr.example.net PTR',
  'txt.example.net TXT',
  'missing.example.net A',
  'app.gslb.example.org A',
  'www.gslb.example.org AAAA',
  'x.edge.gslb.example.org A',
];
fs.writeFileSync(path.join(out, 'mix.txt'), mix.join('\n') + '\n');

// Policy mixes (bench/run.sh sends them with an ECS option for a UK /24, 81.2.69.0/24).
const policy = {
  'policy-weighted': 'canary.gslb.example.org A',
  'policy-geo-ecs': 'api.gslb.example.org A',
  'policy-failover': 'static.gslb.example.org A',
  'policy-latency': 'nearest.gslb.example.org A',
};
for (const [file, q] of Object.entries(policy)) fs.writeFileSync(path.join(out, `${file}.txt`), q + '\n');
