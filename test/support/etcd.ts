/**
 * A real etcd for tests (Debian's etcd-server): a fresh data directory and free loopback ports.
 * `stop()` kills it (SIGKILL, like a crash) and keeps the data; `start()` brings the same member
 * back on the same ports; `destroy()` removes everything.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'undici';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, hasCommand } from './tools.js';

export const hasEtcd = hasCommand('etcd');

export interface TestEtcd {
  readonly url: string;
  readonly dataDir: string;
  readonly logs: string[];
  start(): Promise<void>;
  stop(): Promise<void>;
  destroy(): Promise<void>;
}

/** PEM files for an etcd that serves https and requires client certificates. */
export interface EtcdTlsFiles {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
  readonly clientCert: string;
  readonly clientKey: string;
}

async function healthy(url: string, tls?: EtcdTlsFiles): Promise<boolean> {
  try {
    const dispatcher = tls
      ? new Agent({ connect: { ca: fs.readFileSync(tls.ca), cert: fs.readFileSync(tls.clientCert), key: fs.readFileSync(tls.clientKey) } })
      : undefined;
    const res = await request(`${url}/health`, { signal: AbortSignal.timeout(500), ...(dispatcher ? { dispatcher } : {}) });
    const ok = res.statusCode === 200 && ((await res.body.json()) as { health?: string }).health === 'true';
    await dispatcher?.close();
    return ok;
  } catch {
    return false;
  }
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate, made with the openssl CLI. */
export function makeEtcdTls(dir: string): EtcdTlsFiles {
  const f = (n: string) => path.join(dir, n);
  const ssl = (args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  ssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '1', '-subj', '/CN=meridian-test-ca']);
  for (const [name, ext] of [
    ['server', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth'],
    ['client', 'extendedKeyUsage=clientAuth'],
  ] as const) {
    ssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', `/CN=${name}`]);
    fs.writeFileSync(f(`${name}.ext`), ext);
    ssl([
      'x509',
      '-req',
      '-in',
      f(`${name}.csr`),
      '-CA',
      f('ca.pem'),
      '-CAkey',
      f('ca.key'),
      '-CAcreateserial',
      '-out',
      f(`${name}.pem`),
      '-days',
      '1',
      '-extfile',
      f(`${name}.ext`),
    ]);
  }
  return { ca: f('ca.pem'), cert: f('server.pem'), key: f('server.key'), clientCert: f('client.pem'), clientKey: f('client.key') };
}

export async function startEtcd(opts: { tls?: boolean } = {}): Promise<TestEtcd & { tls?: EtcdTlsFiles }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-etcd-'));
  const tls = opts.tls ? makeEtcdTls(dir) : undefined;
  const clientPort = await freePort();
  let peerPort = await freePort();
  while (peerPort === clientPort) peerPort = await freePort();
  const url = `${tls ? 'https' : 'http'}://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const logs: string[] = [];
  let child: ChildProcess | null = null;

  const start = async (): Promise<void> => {
    if (child && child.exitCode === null) return;
    child = spawn(
      'etcd',
      [
        '--name',
        'test',
        '--data-dir',
        path.join(dir, 'data'),
        '--listen-client-urls',
        url,
        '--advertise-client-urls',
        url,
        '--listen-peer-urls',
        peer,
        '--initial-advertise-peer-urls',
        peer,
        '--initial-cluster',
        `test=${peer}`,
        '--log-level',
        'warn',
        '--logger',
        'zap',
        ...(tls ? ['--cert-file', tls.cert, '--key-file', tls.key, '--client-cert-auth', '--trusted-ca-file', tls.ca] : []),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ETCD_UNSUPPORTED_ARCH: process.arch === 'x64' ? '' : process.arch } },
    );
    child.stdout!.on('data', (d: Buffer) => logs.push(d.toString()));
    child.stderr!.on('data', (d: Buffer) => logs.push(d.toString()));
    const deadline = Date.now() + 20_000;
    while (!(await healthy(url, tls))) {
      if (child.exitCode !== null) throw new Error(`etcd exited with ${child.exitCode}:\n${logs.join('')}`);
      if (Date.now() > deadline) throw new Error(`etcd did not become healthy:\n${logs.join('')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  const stop = async (): Promise<void> => {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null) return;
    const gone = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await gone;
  };

  await start();
  return {
    url,
    ...(tls ? { tls } : {}),
    dataDir: dir,
    logs,
    start,
    stop,
    async destroy() {
      await stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
