#!/usr/bin/env node
/**
 * `npm test`'s preflight (the `pretest` script): the suite drives real resolvers, servers and a
 * browser, so before building anything, check that each one is installed and that this Node is
 * supported. When something is missing, print the one apt-get line that installs exactly what is
 * missing and exit 1, instead of failing in dozens of places later.
 *
 *   node scripts/preflight.mjs              check (silent when everything is there)
 *   node scripts/preflight.mjs --packages   print every Debian package the tests use, one line
 *   node scripts/preflight.mjs --list       print "tool package" for each tool, one a line
 *   node scripts/preflight.mjs --check-node VERSION   say whether a Node version is supported
 *
 * Tools are looked up on PATH and in /usr/sbin and /sbin (where Debian puts unbound and named,
 * which a non-root PATH often lacks; the tests look there too). dnsperf is only for `npm run
 * bench`, which checks for it itself.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** Each tool the tests run, and the Debian package that has it. */
export const TOOLS = [
  { tool: 'dig', pkg: 'bind9-dnsutils', why: 'queries in the e2e tests' },
  { tool: 'kdig', pkg: 'knot-dnsutils', why: 'TCP pipelining and EDNS tests' },
  { tool: 'unbound', pkg: 'unbound', why: 'a real recursive resolver delegating to Meridian' },
  { tool: 'named', pkg: 'bind9', why: 'a real secondary (AXFR, NOTIFY)' },
  { tool: 'etcd', pkg: 'etcd-server', why: 'the cluster tests' },
  { tool: 'etcdctl', pkg: 'etcd-client', why: 'etcd authentication in the cluster tests' },
  { tool: 'chromium', pkg: 'chromium', why: 'the status page test' },
  { tool: 'openssl', pkg: 'openssl', why: 'certificates for HTTPS checks and etcd TLS' },
  { tool: 'delv', pkg: 'bind9-dnsutils', why: 'DNSSEC validation of signed answers' },
  { tool: 'dnsviz', pkg: 'dnsviz', why: 'DNSSEC analysis of signed zones (with python3-pygraphviz, which npm run setup installs)' },
];

/** The Node versions package.json's engines allow (>=20.19 <21 || >=22.12). */
export function nodeSupported(version = process.versions.node) {
  const [major, minor] = version.split('.').map(Number);
  return (major === 20 && minor >= 19) || (major === 22 && minor >= 12) || major > 22;
}

function found(tool, pathVar) {
  const dirs = [...(pathVar ?? '').split(path.delimiter).filter(Boolean), '/usr/sbin', '/sbin'];
  return dirs.some((d) => {
    try {
      fs.accessSync(path.join(d, tool), fs.constants.X_OK);
      return fs.statSync(path.join(d, tool)).isFile();
    } catch {
      return false;
    }
  });
}

function main(argv) {
  if (argv.includes('--packages')) {
    console.log([...new Set(TOOLS.map((t) => t.pkg))].join(' '));
    return 0;
  }
  if (argv.includes('--list')) {
    for (const t of TOOLS) console.log(`${t.tool} ${t.pkg}`);
    return 0;
  }
  if (argv[0] === '--check-node') {
    const ok = nodeSupported(argv[1] ?? '');
    console.log(ok ? 'supported' : 'unsupported');
    return ok ? 0 : 1;
  }
  let ok = true;
  if (!nodeSupported()) {
    console.error(`Node ${process.versions.node} is not supported: use Node 20.19+ (20.x), 22.12+ or 24 (package.json "engines").`);
    ok = false;
  }
  const missing = TOOLS.filter((t) => !found(t.tool, process.env.PATH));
  if (missing.length > 0) {
    const sudo = process.getuid?.() === 0 ? '' : 'sudo ';
    const pkgs = [...new Set(missing.map((t) => t.pkg))].join(' ');
    console.error(`npm test needs tools that are not installed: ${missing.map((t) => `${t.tool} (${t.why})`).join(', ')}.`);
    console.error('Install them with:');
    console.error(`  ${sudo}apt-get update && ${sudo}apt-get install -y --no-install-recommends ${pkgs}`);
    console.error('(`npm run setup` installs every tool the tests use; README.md, "Quick start").');
    ok = false;
  }
  return ok ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(fs.realpathSync(process.argv[1])).href) process.exitCode = main(process.argv.slice(2));
