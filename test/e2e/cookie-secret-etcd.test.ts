/**
 * The DNS cookie secret of a cluster (cluster/cookie-secrets.ts) against a real etcd: the first
 * node creates it and every node takes it up; when a rotation is due, two nodes that both try
 * rotate it once (compare-and-swap), and both end with the same rotated state, in which the old
 * secret is still accepted; a key written by hand that is not a secret state changes nothing.
 * A day is a scripted clock here; the wire behaviour (a cookie from one node valid on another) is
 * in test/e2e/dns-guard.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient } from '../../src/cluster/etcd-client.js';
import { EtcdSource } from '../../src/cluster/etcd-source.js';
import { EtcdCookieSecrets } from '../../src/cluster/cookie-secrets.js';
import { KeyLayout } from '../../src/cluster/layout.js';
import { COOKIE_ROTATION_SECONDS, CookieSecrets } from '../../src/dns/cookie-secrets.js';
import { SnapshotHolder } from '../../src/state/snapshot.js';
import { silentLogger } from '../../src/log.js';
import { hasEtcd, startEtcd, type TestEtcd } from '../support/etcd.js';
import { waitFor } from '../support/tools.js';

describe.skipIf(!hasEtcd)('the cluster cookie secret in etcd', () => {
  let etcd: TestEtcd;
  const stops: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    etcd = await startEtcd();
  }, 30_000);
  afterAll(async () => {
    for (const s of stops) await s();
    await etcd?.destroy();
  });

  let now = 1_800_000_000;
  /** A node's part of it: an etcd client, the source that watches the prefix, the secrets. */
  async function member(prefix: string): Promise<{ secrets: CookieSecrets; sync: EtcdCookieSecrets; client: EtcdClient }> {
    const log = silentLogger();
    const client = new EtcdClient({ endpoints: [etcd.url], log });
    const layout = new KeyLayout(prefix);
    const source = new EtcdSource({ client, layout, holder: new SnapshotHolder(), log });
    const secrets = new CookieSecrets();
    const sync = new EtcdCookieSecrets(client, layout.cookieSecret, secrets, log, () => now);
    source.subscribe(layout.cookieSecret, sync);
    await source.start();
    stops.push(async () => {
      await source.stop();
      await client.close();
    });
    return { secrets, sync, client };
  }

  it('is created by the first node, shared by all, and rotated once by two nodes that both find it due', async () => {
    const a = await member('/secret-a');
    const b = await member('/secret-a');
    await waitFor(async () => a.sync.shared && b.sync.shared);
    await waitFor(async () => a.secrets.state.current === b.secrets.state.current);
    const before = a.secrets.state;
    expect(b.secrets.state).toEqual(before);
    expect(await a.sync.rotateIfDue()).toBe(false); // not a day yet

    now += COOKIE_ROTATION_SECONDS;
    const won = await Promise.all([a.sync.rotateIfDue(), b.sync.rotateIfDue()]);
    expect(won.filter(Boolean)).toHaveLength(1);
    await waitFor(async () => a.secrets.state.current === before.next && b.secrets.state.current === before.next);
    expect(a.secrets.state).toEqual(b.secrets.state);
    expect(a.secrets.state.previous).toBe(before.current);
    // The secret that made yesterday's cookies is still accepted; the new next one already is.
    const accepted = a.secrets.accepted.map((s) => s.toString('hex'));
    expect(accepted).toEqual([before.next, a.secrets.state.next, before.current]);
    // Once rotated, it is not due again for a day.
    expect(await a.sync.rotateIfDue()).toBe(false);
  }, 30_000);

  it('keeps the secret in force when the key holds something else, and another cluster has its own', async () => {
    const a = await member('/secret-b');
    await waitFor(async () => a.sync.shared);
    const inForce = a.secrets.state;
    await a.client.put('/secret-b/cookie-secret', '{"current":"not hex"}');
    await new Promise((r) => setTimeout(r, 500));
    expect(a.secrets.state).toEqual(inForce);
    const other = await member('/secret-c');
    await waitFor(async () => other.sync.shared);
    expect(other.secrets.state.current).not.toBe(inForce.current);
  }, 30_000);
});
