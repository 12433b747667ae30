// Cluster mode, measured on one machine: a real etcd (Debian's etcd-server) and three real
// `meridian serve --etcd` processes in three regions (eu, us, ap), each the active checker of its
// region. Two figures (docs/performance.md):
//   1. write-to-answer propagation: an API write on node 1, then UDP queries to nodes 2 and 3
//      every 2 ms until both answer with the new record; 50 writes.
//   3. checker handover: region eu gets a standby `meridian checker --etcd`; its active checker is
//      killed (SIGKILL, no goodbye) and node 2's /v1/nodes is asked every 20 ms until another
//      process is eu's active checker (lease TTL 2 s); 5 trials.
//   2. target-death-to-failover: both endpoints of the primary pool stop (interval 1 s, fall 2,
//      checkers in three regions); every node is asked every 20 ms until it answers from the
//      backup pool. Then the targets come back and the next trial waits for the answers to return.
//
//   npm run build && node bench/cluster.mjs [writes=50] [failovers=5]
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import dnsPacket from 'dns-packet';

const writes = Number(process.argv[2] ?? 50);
const failovers = Number(process.argv[3] ?? 5);
const root = path.resolve(import.meta.dirname, '..');
const main = path.join(root, 'dist/main.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-cluster-bench-'));
const children = [];
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});

const freePort = () =>
  new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { n: s.length, median: q(0.5), p90: q(0.9), max: s[s.length - 1], min: s[0] };
};
const fmt = (o) => `median ${o.median.toFixed(1)} ms, p90 ${o.p90.toFixed(1)} ms, max ${o.max.toFixed(1)} ms, min ${o.min.toFixed(1)} ms (n=${o.n})`;

// --- etcd ---
const clientPort = await freePort();
const peerPort = await freePort();
const etcdUrl = `http://127.0.0.1:${clientPort}`;
const etcd = spawn(
  'etcd',
  [
    '--name',
    'bench',
    '--data-dir',
    path.join(dir, 'etcd'),
    '--listen-client-urls',
    etcdUrl,
    '--advertise-client-urls',
    etcdUrl,
    '--listen-peer-urls',
    `http://127.0.0.1:${peerPort}`,
    '--initial-advertise-peer-urls',
    `http://127.0.0.1:${peerPort}`,
    '--initial-cluster',
    `bench=http://127.0.0.1:${peerPort}`,
    '--logger',
    'zap',
    '--log-level',
    'error',
  ],
  { stdio: 'ignore' },
);
children.push(etcd);
for (;;) {
  try {
    if ((await (await fetch(`${etcdUrl}/health`)).json()).health === 'true') break;
  } catch {}
  await sleep(100);
}

// --- targets and zone ---
const port = await freePort();
const targets = ['127.0.0.61', '127.0.0.62', '127.0.0.63'].map((host) => ({ host, server: null }));
const startTarget = (t) =>
  new Promise((resolve) => {
    t.server = http.createServer((_req, res) => res.end('ok'));
    t.server.listen(port, t.host, resolve);
  });
const stopTarget = (t) =>
  new Promise((resolve) => {
    t.server.closeAllConnections();
    t.server.close(resolve);
  });
for (const t of targets) await startTarget(t);
const zones = path.join(dir, 'zones');
fs.mkdirSync(zones);
fs.writeFileSync(
  path.join(zones, 'cb.test.yaml'),
  `
zone: cb.test
soa: { mname: ns1, rname: hostmaster, serial: 1, refresh: 1h, retry: 10m, expire: 1w, minimum: 5 }
ns: [ns1]
records: [ { name: ns1, type: A, value: 192.0.2.53 } ]
checks:
  - { id: web, type: http, path: /, port: ${port}, interval: 1s, timeout: 500ms, fall: 2, rise: 2, stale_after: 3s }
regions:
  - { id: eu, location: { lat: 50, lon: 8 }, country: DE }
  - { id: us, location: { lat: 39, lon: -77 }, country: US }
  - { id: ap, location: { lat: 1.3, lon: 103.8 }, country: SG }
pools:
  - { id: first, check: web, endpoints: [ { id: a, address: 127.0.0.61, region: eu }, { id: b, address: 127.0.0.62, region: eu } ] }
  - { id: second, check: web, endpoints: [ { id: c, address: 127.0.0.63, region: us } ] }
policies:
  - { name: app, type: A, ttl: 1, policy: { failover: { tiers: [ { pool: first }, { pool: second } ] } } }
`,
);
const imp = spawn(process.execPath, [main, 'cluster', 'import', '--etcd', etcdUrl, '--zones', zones], { stdio: 'inherit' });
await new Promise((r) => imp.on('exit', r));

// --- nodes ---
// One write token for every node (the admin API takes no anonymous write).
const TOKEN = `bench-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
const procsById = new Map();
async function startNode(id, region) {
  const child = spawn(
    process.execPath,
    [main, 'serve', '--etcd', etcdUrl, '--node-id', id, '--region', region, '--dns', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--lease-ttl', '2'],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, MERIDIAN_LOG_LEVEL: 'info', MERIDIAN_TOKENS: `bench:write:${TOKEN}` } },
  );
  children.push(child);
  procsById.set(id, child);
  const ports = await new Promise((resolve) => {
    let buf = '';
    const onData = (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          const rec = JSON.parse(line);
          if (rec.msg === 'meridian serving') {
            child.stdout.off('data', onData);
            child.stdout.resume();
            resolve({ dns: Number(rec.dns.split(':').pop()), admin: Number(rec.admin.split(':').pop()) });
          }
        } catch {}
      }
    };
    child.stdout.on('data', onData);
  });
  return { id, ...ports };
}
const nodes = [];
for (const [id, region] of [
  ['n1', 'eu'],
  ['n2', 'us'],
  ['n3', 'ap'],
])
  nodes.push(await startNode(id, region));

const sock = dgram.createSocket('udp4');
await new Promise((r) => sock.bind(0, '127.0.0.1', r));
let nextId = 1;
const waiting = new Map();
sock.on('message', (msg) => {
  const p = dnsPacket.decode(msg);
  const w = waiting.get(p.id);
  if (w) {
    waiting.delete(p.id);
    w(
      (p.answers ?? [])
        .map((a) => a.data)
        .sort()
        .join(' '),
    );
  }
});
const ask = (n, name, type = 'A') =>
  new Promise((resolve) => {
    const id = nextId++ & 0xffff;
    const t = setTimeout(() => {
      waiting.delete(id);
      resolve(null);
    }, 500);
    waiting.set(id, (v) => {
      clearTimeout(t);
      resolve(v);
    });
    sock.send(dnsPacket.encode({ id, type: 'query', questions: [{ name, type }] }), n.dns, '127.0.0.1');
  });
async function until(n, name, want, stepMs) {
  for (;;) {
    const got = await ask(n, name);
    if (typeof want === 'function' ? want(got) : got === want) return performance.now();
    await sleep(stepMs);
  }
}

// Wait until all three regions voted on every node.
for (const n of nodes) {
  for (;;) {
    const h = await (await fetch(`http://127.0.0.1:${n.admin}/v1/health`, { headers: { authorization: `Bearer ${TOKEN}` } })).json();
    if (h.endpoints.length === 3 && h.endpoints.every((e) => e.votes.filter((v) => v.fresh).length === 3)) break;
    await sleep(200);
  }
}

// --- 1. propagation ---
const prop = [];
const perNode = { n2: [], n3: [] };
const apiReturn = [];
for (let i = 0; i < writes; i++) {
  const value = `198.51.100.${(i % 250) + 1}`;
  const name = `w${i}.cb.test`;
  const t0 = performance.now();
  const res = await fetch(`http://127.0.0.1:${nodes[0].admin}/v1/zones/cb.test/records`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify({ name: `w${i}`, type: 'A', value }),
  });
  apiReturn.push(performance.now() - t0);
  if (res.status !== 201) throw new Error(`write ${i}: HTTP ${res.status} ${await res.text()}`);
  const [t2, t3] = await Promise.all([until(nodes[1], name, value, 2), until(nodes[2], name, value, 2)]);
  perNode.n2.push(t2 - t0);
  perNode.n3.push(t3 - t0);
  prop.push(Math.max(t2, t3) - t0);
}
console.log(`write-to-answer on nodes 2 and 3 (both), ${writes} writes: ${fmt(stats(prop))}`);
console.log(`  node 2: ${fmt(stats(perNode.n2))}`);
console.log(`  node 3: ${fmt(stats(perNode.n3))}`);
console.log(`  API call on node 1 (CAS write to etcd, served there on return): ${fmt(stats(apiReturn))}`);

// --- 2. failover ---
const fo = [];
const foAll = [];
for (let i = 0; i < failovers; i++) {
  for (const n of nodes) await until(n, 'app.cb.test', '127.0.0.61 127.0.0.62', 50);
  await sleep(1000 + Math.random() * 1000); // land anywhere in the check interval
  const t0 = performance.now();
  await stopTarget(targets[0]);
  await stopTarget(targets[1]);
  const ts = await Promise.all(nodes.map((n) => until(n, 'app.cb.test', '127.0.0.63', 20)));
  const per = ts.map((t) => t - t0);
  fo.push(...per);
  foAll.push(Math.max(...per) - Math.min(...per));
  console.log(`  failover ${i + 1}: ${per.map((x, j) => `${nodes[j].id} ${x.toFixed(0)} ms`).join(', ')}`);
  await startTarget(targets[0]);
  await startTarget(targets[1]);
}
console.log(`target death to failover (interval 1 s, fall 2, checkers in 3 regions), every node: ${fmt(stats(fo))}`);
console.log(`  spread between the first and the last node to fail over: ${fmt(stats(foAll))}`);

// --- 3. checker handover ---
const handover = [];
const n2 = nodes[1];
const nodesOf = async () => (await fetch(`http://127.0.0.1:${n2.admin}/v1/nodes`, { headers: { authorization: `Bearer ${TOKEN}` } })).json();
for (let i = 0; i < 5; i++) {
  const id = `c${i}`;
  const child = spawn(process.execPath, [main, 'checker', '--etcd', etcdUrl, '--region', 'eu', '--node-id', id, '--lease-ttl', '2'], { stdio: 'ignore' });
  children.push(child);
  procsById.set(id, child);
  while (!(await nodesOf()).nodes.some((m) => m.id === id)) await sleep(50);
  const leader = (await nodesOf()).active_checkers.eu.id;
  await sleep(Math.random() * 700); // anywhere in the renewal cycle
  const t0 = performance.now();
  procsById.get(leader).kill('SIGKILL');
  for (;;) {
    const now = (await nodesOf()).active_checkers.eu?.id;
    if (now && now !== leader) break;
    await sleep(20);
  }
  handover.push(performance.now() - t0);
  console.log(`  handover ${i + 1}: ${leader} killed, eu checks moved after ${(performance.now() - t0).toFixed(0)} ms`);
}
console.log(`active checker killed to standby active (lease TTL 2 s): ${fmt(stats(handover))}`);
sock.close();
process.exit(0);
