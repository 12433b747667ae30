#!/usr/bin/env node
/**
 * Builds the optional native part of the batched UDP path (native/udp-batch.c → build/udp-batch.node)
 * with the system's C compiler against the headers of the Node that runs this script, at
 * `<prefix>/include/node` — no node-gyp, nothing downloaded. It uses only Node-API 8 and libuv's
 * stable 1.x API, so one build loads on Node 20 and Node 24 alike.
 *
 *   node scripts/build-native.mjs              build (skipped, with one line, when there is no compiler or no headers)
 *   node scripts/build-native.mjs --sanitize   build build/udp-batch-asan.node with ASan and UBSan (for native/test-sanitizers.sh)
 *   node scripts/build-native.mjs --require    fail (exit 1) instead of skipping
 *
 * `npm run build` runs it. Without the addon, Meridian serves UDP through node:dgram and says so
 * once at start (docs/operations.md, "UDP I/O"). CC and CFLAGS are honoured.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const source = path.join(root, 'native', 'udp-batch.c');
const sanitize = process.argv.includes('--sanitize');
const required = process.argv.includes('--require') || sanitize;
const out = path.join(root, 'build', sanitize ? 'udp-batch-asan.node' : 'udp-batch.node');

function skip(why) {
  if (required) {
    console.error(`native UDP part: ${why}`);
    process.exit(1);
  }
  console.log(`native UDP part not built: ${why}; Meridian will use node:dgram (install a C compiler, e.g. build-essential, and run npm run build)`);
  process.exit(0);
}

if (process.platform !== 'linux') skip(`recvmmsg/sendmmsg are Linux system calls, this is ${process.platform}`);
const include = path.join(path.dirname(path.dirname(process.execPath)), 'include', 'node');
if (!fs.existsSync(path.join(include, 'node_api.h'))) skip(`no Node headers at ${include}`);
const cc = process.env.CC || 'cc';
if (spawnSync(cc, ['--version'], { stdio: 'ignore' }).status !== 0) skip(`no C compiler (${cc})`);

const flags = [
  '-std=gnu11',
  '-shared',
  '-fPIC',
  '-fvisibility=hidden',
  '-Wall',
  '-Wextra',
  '-Werror',
  '-Wno-unused-parameter',
  '-Wno-missing-field-initializers',
  `-I${include}`,
  '-DNODE_GYP_MODULE_NAME=udp_batch',
  ...(sanitize ? ['-O1', '-g', '-fno-omit-frame-pointer', '-fsanitize=address,undefined', '-fno-sanitize-recover=undefined'] : ['-O2']),
  ...(process.env.CFLAGS ? process.env.CFLAGS.split(/\s+/).filter(Boolean) : []),
];
fs.mkdirSync(path.dirname(out), { recursive: true });
const tmp = `${out}.tmp-${process.pid}`;
try {
  // Node's symbols (napi_*, uv_*) resolve against the running node at load time.
  execFileSync(cc, [...flags, '-o', tmp, source], { stdio: 'inherit' });
  fs.renameSync(tmp, out);
} catch (err) {
  fs.rmSync(tmp, { force: true });
  if (required) throw err;
  skip(`${cc} failed (${err.message.split('\n')[0]})`);
}
console.log(`native UDP part built: ${path.relative(root, out)}`);
