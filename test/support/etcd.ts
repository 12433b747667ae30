/**
 * A real etcd for tests (Debian's etcd-server): a fresh data directory and free loopback ports.
 * `stop()` kills it (SIGKILL, like a crash) and keeps the data; `start()` brings the same member
 * back on the same ports; `destroy()` removes everything.
 */
import { spawn, type ChildProcess } from 'node:child_process';
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

async function healthy(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(500) });
    return res.ok && ((await res.json()) as { health?: string }).health === 'true';
  } catch {
    return false;
  }
}

export async function startEtcd(): Promise<TestEtcd> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-etcd-'));
  const clientPort = await freePort();
  let peerPort = await freePort();
  while (peerPort === clientPort) peerPort = await freePort();
  const url = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const logs: string[] = [];
  let child: ChildProcess | null = null;

  const start = async (): Promise<void> => {
    if (child && child.exitCode === null) return;
    child = spawn(
      'etcd',
      [
        '--name', 'test',
        '--data-dir', path.join(dir, 'data'),
        '--listen-client-urls', url,
        '--advertise-client-urls', url,
        '--listen-peer-urls', peer,
        '--initial-advertise-peer-urls', peer,
        '--initial-cluster', `test=${peer}`,
        '--log-level', 'warn',
        '--logger', 'zap',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ETCD_UNSUPPORTED_ARCH: process.arch === 'x64' ? '' : process.arch } },
    );
    child.stdout!.on('data', (d: Buffer) => logs.push(d.toString()));
    child.stderr!.on('data', (d: Buffer) => logs.push(d.toString()));
    const deadline = Date.now() + 20_000;
    while (!(await healthy(url))) {
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
