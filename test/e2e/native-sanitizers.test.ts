/**
 * The native UDP part (native/udp-batch.c) under AddressSanitizer and UndefinedBehaviorSanitizer:
 * native/test-sanitizers.sh builds an instrumented copy and runs scripts/native-stress.mjs against
 * it (every path of the addon, with real loopback traffic). Skipped, and says why, where the
 * compiler has no sanitizer runtimes.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/tools.js';

function sanitizersMissing(): string | null {
  if (process.platform !== 'linux') return 'not Linux';
  const cc = process.env['CC'] || 'cc';
  if (spawnSync(cc, ['--version'], { stdio: 'ignore' }).status !== 0) return `no C compiler (${cc})`;
  for (const lib of ['libasan.so', 'libubsan.so']) {
    const file = execFileSync(cc, [`-print-file-name=${lib}`], { encoding: 'utf8' }).trim();
    if (!path.isAbsolute(file) || !fs.existsSync(file)) return `${cc} has no ${lib}`;
  }
  return null;
}

const missing = sanitizersMissing();

describe('the native UDP part under the sanitizers', () => {
  it.skipIf(missing !== null)(
    `passes the stress with ASan and UBSan${missing ? ` (skipped: ${missing})` : ''}`,
    () => {
      const r = spawnSync('bash', [path.join(repoRoot, 'native/test-sanitizers.sh')], { cwd: repoRoot, encoding: 'utf8', timeout: 120_000 });
      const out = `${r.stdout}\n${r.stderr}`;
      expect(out).not.toMatch(/AddressSanitizer|runtime error:/);
      expect(r.status, out).toBe(0);
      expect(r.stdout).toContain('stress passed');
    },
    150_000,
  );
});
