/**
 * A zone written through the API (FileSource.put) while a directory scan is in flight stays
 * served: the scan listed the directory before the new file existed, and must not take that
 * listing as "the file was removed".
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { FileSource } from './file-source.js';
import { SnapshotHolder } from './snapshot.js';
import { silentLogger } from '../log.js';
import { loadZoneText } from '../zone/load.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function zoneText(name: string): string {
  return `zone: ${name}\nsoa: { mname: ns1, rname: hostmaster, serial: 1, refresh: 1h, retry: 10m, expire: 1w, minimum: 60 }\nns: [ns1]\nrecords:\n  - { name: ns1, type: A, value: 192.0.2.1 }\n`;
}

it('a zone written while a scan lists the directory is not dropped by that scan', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-fs-race-'));
  dirs.push(dir);
  const source = new FileSource({ dir, holder: new SnapshotHolder(), log: silentLogger(), watch: false, scanIntervalMs: 3_600_000 });
  await source.start();
  try {
    const lost: string[] = [];
    for (let i = 0; i < 20; i++) {
      const name = `race${i}.test`;
      const text = zoneText(name);
      const built = loadZoneText(text, `${name}.yaml`);
      if (!built.ok) throw new Error(built.errors.map((e) => e.message).join('; '));
      // The scan reads the directory first; the write lands while that read is in flight.
      const scan = source.scan();
      expect((await source.put(built.zone.origin, text, built.zone, null)).ok).toBe(true);
      await scan;
      if (!source.entry(built.zone.origin)) lost.push(name);
    }
    expect(lost, 'zones the scan dropped after they were written').toEqual([]);
  } finally {
    await source.stop();
  }
});
