/** Real daemons in tests (unbound, BIND named): starting, stopping, and named's configuration. */
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
