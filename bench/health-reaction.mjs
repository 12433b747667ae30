// Measures how fast answers follow health: the time from a target dying to the first DNS answer
// without it, and from its recovery to the first answer with it again. A real `meridian serve`
// process checks a real HTTP target on loopback (interval 1 s, fall 2, rise 2); DNS is polled
// over UDP every 20 ms.   node bench/health-reaction.mjs [trials=20]
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import dnsPacket from 'dns-packet';

const trials = Number(process.argv[2] ?? 20);
const root = path.resolve(import.meta.dirname, '..');
const port = 20000 + Math.floor(Math.random() * 20000);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-reaction-'));
fs.writeFileSync(
  path.join(dir, 'r.test.yaml'),
  `
zone: r.test
soa: { mname: ns1, rname: hostmaster, serial: 1, refresh: 1h, retry: 10m, expire: 1w, minimum: 5 }
ns: [ns1]
records: [ { name: ns1, type: A, value: 192.0.2.53 } ]
checks:
  - { id: web, type: http, path: /, port: ${port}, interval: 1s, timeout: 500ms, fall: 2, rise: 2 }
regions: [ { id: r1, location: { lat: 0, lon: 0 }, country: DE } ]
pools:
  - { id: main, check: web, endpoints: [ { id: t, address: 127.0.0.41, region: r1 } ] }
  - { id: spare, endpoints: [ { id: s, address: 127.0.0.42, region: r1 } ] }
policies:
  - { name: app, type: A, ttl: 1, policy: { failover: { tiers: [ { pool: main }, { pool: spare } ] } } }
`,
);

let server = null;
const startTarget = () =>
  new Promise((resolve) => {
    server = http.createServer((_req, res) => res.end('ok'));
    server.listen(port, '127.0.0.41', resolve);
  });
const stopTarget = () =>
  new Promise((resolve) => {
    server.closeAllConnections();
    server.close(resolve);
  });

const node = spawn(
  process.execPath,
  [path.join(root, 'dist/main.js'), 'serve', '--zones', dir, '--dns', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--region', 'r1'],
  { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, MERIDIAN_LOG_LEVEL: 'info' } },
);
const dnsPort = await new Promise((resolve) => {
  let buf = '';
  node.stdout.on('data', (d) => {
    buf += d;
    const m = /"dns":"127\.0\.0\.1:(\d+)"/.exec(buf);
    if (m) resolve(Number(m[1]));
  });
});

const sock = dgram.createSocket('udp4');
await new Promise((r) => sock.bind(0, '127.0.0.1', r));
function ask() {
  return new Promise((resolve) => {
    const id = Math.floor(Math.random() * 65535);
    const t = setTimeout(() => {
      sock.off('message', on);
      resolve(null);
    }, 500);
    const on = (msg) => {
      const p = dnsPacket.decode(msg);
      if (p.id !== id) return;
      clearTimeout(t);
      sock.off('message', on);
      resolve(p.answers.filter((a) => a.type === 'A').map((a) => a.data));
    };
    sock.on('message', on);
    sock.send(dnsPacket.encode({ id, type: 'query', questions: [{ name: 'app.r.test', type: 'A' }] }), dnsPort, '127.0.0.1');
  });
}
async function until(pred) {
  const t0 = performance.now();
  for (;;) {
    const a = await ask();
    if (a && pred(a)) return performance.now() - t0;
    await new Promise((r) => setTimeout(r, 20));
  }
}

await startTarget();
await until((a) => a.includes('127.0.0.41'));
await new Promise((r) => setTimeout(r, 3000)); // settle: the target is judged up
const down = [];
const up = [];
for (let i = 0; i < trials; i++) {
  // Die at a random point of the check cycle.
  await new Promise((r) => setTimeout(r, Math.random() * 1000));
  await stopTarget();
  down.push(await until((a) => !a.includes('127.0.0.41')));
  await new Promise((r) => setTimeout(r, Math.random() * 1000));
  await startTarget();
  up.push(await until((a) => a.includes('127.0.0.41')));
  process.stderr.write(`trial ${i + 1}: down ${(down.at(-1) / 1000).toFixed(2)} s, up ${(up.at(-1) / 1000).toFixed(2)} s\n`);
}
const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const med = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  return `median ${(med / 1000).toFixed(2)} s, max ${(s.at(-1) / 1000).toFixed(2)} s, min ${(s[0] / 1000).toFixed(2)} s`;
};
console.log(`interval 1 s, fall 2, rise 2, ${trials} trials`);
console.log(`target dies → first answer without it:  ${stats(down)}`);
console.log(`target recovers → first answer with it: ${stats(up)}`);
node.kill('SIGTERM');
sock.close();
await stopTarget();
fs.rmSync(dir, { recursive: true, force: true });
