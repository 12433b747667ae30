/** Real daemons in tests (unbound, BIND named): starting, stopping, and their configuration. */
import { spawn, type ChildProcess } from 'node:child_process';

/** Starts a daemon; its output goes to `output` when given, and is drained otherwise. */
export function startDaemon(cmd: string, args: string[], output?: string[]): ChildProcess {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  for (const stream of [child.stdout!, child.stderr!]) {
    if (output) stream.on('data', (d: Buffer) => output.push(d.toString()));
    else stream.resume();
  }
  return child;
}

/** SIGTERM, then SIGKILL after 3 s if it has not exited. */
export async function stopDaemon(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
  child.kill('SIGKILL');
}

/** A named.conf for a secondary on 127.0.0.1:`port` that transfers `zones` from 127.0.0.1:`primaryPort`. */
export function namedSecondaryConf(dir: string, port: number, primaryPort: number, zones: readonly string[]): string {
  const options = `options {
  directory "${dir}";
  pid-file "${dir}/named.pid";
  listen-on port ${port} { 127.0.0.1; };
  listen-on-v6 { none; };
  recursion no;
  dnssec-validation no;
  notify no;
};
controls { };
`;
  return (
    options +
    zones
      .map(
        (z) => `zone "${z}" {
  type secondary;
  primaries { 127.0.0.1 port ${primaryPort}; };
  file "${dir}/${z}.db";
};
`,
      )
      .join('')
  );
}

/**
 * An unbound.conf for a resolver on 127.0.0.1:`port`, in the foreground, keeping its files in
 * `dir`, iterating (no validator), allowed to query loopback; `server` adds lines to its server
 * block and `stubs` sends these zones to these addresses (`127.0.0.1@PORT`).
 */
export function unboundConf(dir: string, port: number, opts: { server?: readonly string[]; stubs?: readonly { name: string; addr: string }[] } = {}): string {
  const server = [
    'interface: 127.0.0.1',
    `port: ${port}`,
    'do-daemonize: no',
    'username: ""',
    'chroot: ""',
    `directory: "${dir}"`,
    `pidfile: "${dir}/unbound.pid"`,
    'use-syslog: no',
    'logfile: ""',
    'num-threads: 1',
    'do-ip6: no',
    'do-not-query-localhost: no',
    'module-config: "iterator"',
    'access-control: 127.0.0.0/8 allow',
    'qname-minimisation: no',
    'auto-trust-anchor-file: ""',
    ...(opts.server ?? []),
  ];
  const stubs = (opts.stubs ?? []).map((z) => `stub-zone:\n  name: "${z.name}"\n  stub-addr: ${z.addr}\n`).join('');
  return `server:\n${server.map((l) => `  ${l}\n`).join('')}${stubs}`;
}
