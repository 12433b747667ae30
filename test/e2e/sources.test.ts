/**
 * The file source and the etcd source pass the same Source case suite (test/support/source-cases.ts).
 * The etcd one runs against a real etcd on loopback; its "outside" changes are etcdctl-style
 * puts and deletes through a second client.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { FileSource } from '../../src/state/file-source.js';
import { SnapshotHolder } from '../../src/state/snapshot.js';
import { silentLogger } from '../../src/log.js';
import { EtcdClient } from '../../src/cluster/etcd-client.js';
import { EtcdSource } from '../../src/cluster/etcd-source.js';
import { KeyLayout } from '../../src/cluster/layout.js';
import { sourceCases } from '../support/source-cases.js';
import { hasEtcd, startEtcd, type TestEtcd } from '../support/etcd.js';

sourceCases('files', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-src-'));
  const holder = new SnapshotHolder();
  const source = new FileSource({ dir, holder, log: silentLogger(), scanIntervalMs: 200 });
  return {
    source,
    holder,
    async writeOutside(zone, text) {
      // Like an editor: a temp file renamed over the old one.
      fs.writeFileSync(path.join(dir, `.${zone}.tmp`), text);
      fs.renameSync(path.join(dir, `.${zone}.tmp`), path.join(dir, `${zone}.yaml`));
    },
    async removeOutside(zone) {
      fs.rmSync(path.join(dir, `${zone}.yaml`));
    },
    async close() {
      await source.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
});

let etcd: TestEtcd | undefined;
beforeAll(async () => {
  if (hasEtcd) etcd = await startEtcd();
}, 30_000);
afterAll(async () => {
  await etcd?.destroy();
});

let run = 0;
sourceCases('etcd', async () => {
  if (!etcd) throw new Error('etcd-server is not installed (.ci/run installs it)');
  const log = silentLogger();
  const layout = new KeyLayout(`/src-test-${process.pid}-${run++}`);
  const client = new EtcdClient({ endpoints: [etcd.url], log });
  const outside = new EtcdClient({ endpoints: [etcd.url], log });
  const holder = new SnapshotHolder();
  const source = new EtcdSource({ client, layout, holder, log });
  return {
    source,
    holder,
    async writeOutside(zone, text) {
      await outside.put(layout.zones + zone, text);
    },
    async removeOutside(zone) {
      await outside.delete(layout.zones + zone);
    },
    async close() {
      await source.stop();
      await client.close();
      await outside.close();
    },
  };
});
