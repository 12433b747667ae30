/**
 * Real DNS tools and servers for tests: dig, kdig, and a Meridian started in-process or as a
 * real process.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startNode, type RunningNode, type ServeOptions } from '../../src/node/node.js';
import { silentLogger } from '../../src/log.js';

const run = promisify(execFile);
export const repoRoot = path.resolve(import.meta.dirname, '../..');
export const shippedZones = path.join(repoRoot, 'zones');

export function hasCommand(cmd: string): boolean {
  return (process.env.PATH ?? '').split(':').some((d) => fs.existsSync(path.join(d, cmd))) || fs.existsSync(`/usr/sbin/${cmd}`);
}

/** Runs dig against 127.0.0.1:port; returns stdout. */
export async function dig(port: number, args: string[]): Promise<string> {
  const { stdout } = await run('dig', ['@127.0.0.1', '-p', String(port), '+time=2', '+tries=1', ...args]);
  return stdout;
}

/** Runs kdig against 127.0.0.1:port; returns stdout. */
export async function kdig(port: number, args: string[]): Promise<string> {
  const { stdout } = await run('kdig', ['@127.0.0.1', '-p', String(port), '+time=2', '+retry=0', ...args]);
  return stdout;
}

/** A copy of a zones directory in a fresh temporary directory. */
export function tempZones(from = shippedZones): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-zones-'));
  for (const f of fs.readdirSync(from)) fs.copyFileSync(path.join(from, f), path.join(dir, f));
  return dir;
}

/** A file path in a fresh temporary directory, for a node's own write token (never beside the shipped zones). */
export function tempTokenFile(): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-token-')), 'admin-token');
}

/**
 * Starts a node in this process on free ports. With no token configured it makes its own write
 * token in a temporary file (RunningNode.localTokenFile; test/support/api.ts `localToken`).
 */
export function startTestNode(zonesDir = shippedZones, extra: Partial<ServeOptions> = {}): Promise<RunningNode> {
  return startNode(
    {
      zonesDir,
      dns: { host: '127.0.0.1', port: 0 },
      admin: { host: '127.0.0.1', port: 0 },
      region: 'test',
      maxUdpPayload: 1232,
      tcpIdleTimeoutMs: 5_000,
      tcpMaxConnections: 100,
      useCache: true,
      ...(extra.stateDir ? {} : { adminTokenFile: tempTokenFile() }),
      ...extra,
    },
    silentLogger(),
  );
}

export interface MeridianProcess {
  readonly child: ChildProcess;
  readonly dnsPort: number;
  readonly adminPort: number;
  /** The node's own write token file, when it runs with no token configured (from its log). */
  readonly tokenFile: string | null;
  readonly logs: string[];
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>;
}

/**
 * Starts `meridian serve` as a real process (from dist/, built by `npm test`) on free ports. Unless
 * the arguments say where (--state, --admin-token-file), a node with no token configured keeps its
 * own write token in a temporary file, never beside the zones of the checkout (even with a
 * --config file that names none).
 */
export function spawnMeridian(args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<MeridianProcess> {
  // A --config file may name a state directory, but the flag beats it: the token stays out of the checkout.
  const placed = args.some((a) => a === '--state' || a === '--admin-token-file');
  const tokenArgs = placed ? [] : ['--admin-token-file', tempTokenFile()];
  const child = spawn(
    process.execPath,
    [path.join(repoRoot, 'dist/main.js'), 'serve', '--dns', '127.0.0.1:0', '--admin', '127.0.0.1:0', ...tokenArgs, ...args],
    {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const logs: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let tokenFile: string | null = null;
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`meridian did not start:\n${logs.join('\n')}`)), 15_000);
    child.stderr!.on('data', (d: Buffer) => logs.push(d.toString()));
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        logs.push(line);
        try {
          const rec = JSON.parse(line) as { msg?: string; dns?: string; admin?: string; file?: string };
          if (rec.msg?.startsWith('admin API writes need the token in this file')) tokenFile = rec.file ?? null;
          if (rec.msg === 'meridian serving') {
            clearTimeout(timer);
            resolve({
              child,
              logs,
              exited,
              tokenFile,
              dnsPort: Number(rec.dns!.split(':').pop()),
              adminPort: Number(rec.admin!.split(':').pop()),
            });
          }
        } catch {
          // not JSON: keep it in the logs
        }
      }
    });
    void exited.then((code) => reject(new Error(`meridian exited with ${code}:\n${logs.join('\n')}`)));
  });
}

/** A port free for both UDP and TCP on 127.0.0.1 (bound, then released). */
export async function freePort(): Promise<number> {
  const net = await import('node:net');
  const dgram = await import('node:dgram');
  for (;;) {
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer();
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const ok = await new Promise<boolean>((resolve) => {
      const u = dgram.createSocket('udp4');
      u.once('error', () => resolve(false));
      u.bind(port, '127.0.0.1', () => u.close(() => resolve(true)));
    });
    if (ok) return port;
  }
}

/** Polls `fn` until it returns a truthy value or the time runs out. */
export async function waitFor<T>(fn: () => Promise<T | undefined | null | false>, timeoutMs = 10_000, stepMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
