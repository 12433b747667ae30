/**
 * The one case suite of the {@link Source} interface (src/state/source.ts). The file source and
 * the etcd source both run it (test/e2e/sources.test.ts): the admin API and the DNS path rely on
 * exactly these behaviours, whichever source a node uses.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { presentationToKey } from '../../src/proto/name.js';
import { RRType } from '../../src/proto/types.js';
import type { Source } from '../../src/state/source.js';
import type { SnapshotHolder } from '../../src/state/snapshot.js';
import { loadZoneText } from '../../src/zone/load.js';
import type { Zone } from '../../src/zone/zone.js';
import { waitFor } from './tools.js';

/** What a source under test needs around it. */
export interface SourceFixture {
  readonly source: Source;
  readonly holder: SnapshotHolder;
  /** Seeds (before start) or changes (after) a zone outside the source: a file edit, an etcdctl put. */
  writeOutside(zone: string, text: string): Promise<void>;
  removeOutside(zone: string): Promise<void>;
  close(): Promise<void>;
}

/** A small YAML zone with one A record at `www`. */
export function zoneText(zone: string, serial: number, address: string): string {
  return [
    `zone: ${zone}`,
    'ttl: 300',
    'soa: { mname: ns1, rname: hostmaster.example.org., serial: ' + serial + ', refresh: 3600, retry: 600, expire: 86400, minimum: 60 }',
    'ns: [ns1]',
    'records:',
    '  - { name: ns1, type: A, value: 192.0.2.53 }',
    `  - { name: www, type: A, value: ${address} }`,
    '',
  ].join('\n');
}

function built(zone: string, text: string): Zone {
  const r = loadZoneText(text, `${zone}.yaml`);
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('; '));
  return r.zone;
}

const origin = (zone: string): string => presentationToKey(`${zone}.`, null);

/** The address `www.<zone>` has in the served snapshot. */
function servedWww(holder: SnapshotHolder, zone: string): string | undefined {
  const z = [...holder.current.catalog.zones].find((x) => x.origin === origin(zone));
  const set = z?.rrsets.find((r) => r.owner === origin(`www.${zone}`) && r.type === RRType.A);
  return set ? [...set.rdatas[0]!].join('.') : undefined;
}

export function sourceCases(name: string, make: () => Promise<SourceFixture>): void {
  describe(`Source cases: ${name}`, () => {
    let f: SourceFixture;
    beforeEach(async () => {
      f = await make();
    });
    afterEach(async () => {
      await f.close();
    });

    it('serves what it holds at start, with a revision for each zone', async () => {
      await f.writeOutside('a.test', zoneText('a.test', 1, '192.0.2.1'));
      await f.writeOutside('b.test', zoneText('b.test', 7, '192.0.2.2'));
      await f.source.start();
      expect(
        f.source
          .zones()
          .map((z) => z.origin)
          .sort(),
      ).toEqual([origin('a.test'), origin('b.test')].sort());
      expect(f.holder.current.catalog.size).toBe(2);
      const e = f.source.entry(origin('b.test'))!;
      expect(e.zone.serial).toBe(7);
      expect(e.kind).toBe('yaml');
      expect(e.text).toContain('192.0.2.2');
      expect(e.revision).toMatch(/\S/);
      expect(f.source.entry(origin('nope.test'))).toBeUndefined();
      expect(f.source.status().every((s) => s.errors.length === 0)).toBe(true);
      expect(f.source.writeBlocked()).toBeNull();
    });

    it('a put at the current revision is served at once, with a new revision', async () => {
      await f.writeOutside('a.test', zoneText('a.test', 1, '192.0.2.1'));
      await f.source.start();
      const before = f.source.entry(origin('a.test'))!;
      const version = f.holder.current.version;
      const text = zoneText('a.test', 2, '192.0.2.99');
      expect(await f.source.put(origin('a.test'), text, built('a.test', text), before.revision)).toEqual({ ok: true });
      // No waiting: the snapshot is swapped before put resolves.
      expect(f.holder.current.version).toBeGreaterThan(version);
      expect(servedWww(f.holder, 'a.test')).toBe('192.0.2.99');
      const after = f.source.entry(origin('a.test'))!;
      expect(after.zone.serial).toBe(2);
      expect(after.revision).not.toBe(before.revision);
    });

    it('a put at a stale revision is refused (MRD_ERR_API_PRECONDITION) and changes nothing', async () => {
      await f.writeOutside('a.test', zoneText('a.test', 1, '192.0.2.1'));
      await f.source.start();
      const stale = f.source.entry(origin('a.test'))!.revision;
      const t2 = zoneText('a.test', 2, '192.0.2.2');
      expect((await f.source.put(origin('a.test'), t2, built('a.test', t2), stale)).ok).toBe(true);
      const t3 = zoneText('a.test', 3, '192.0.2.3');
      const out = await f.source.put(origin('a.test'), t3, built('a.test', t3), stale);
      expect(out).toMatchObject({ ok: false, code: 'MRD_ERR_API_PRECONDITION' });
      expect(servedWww(f.holder, 'a.test')).toBe('192.0.2.2');
      expect(f.source.entry(origin('a.test'))!.zone.serial).toBe(2);
    });

    it('two writes from the same revision: exactly one wins', async () => {
      await f.writeOutside('a.test', zoneText('a.test', 1, '192.0.2.1'));
      await f.source.start();
      const rev = f.source.entry(origin('a.test'))!.revision;
      const ta = zoneText('a.test', 2, '192.0.2.10');
      const tb = zoneText('a.test', 2, '192.0.2.20');
      const [a, b] = await Promise.all([
        f.source.put(origin('a.test'), ta, built('a.test', ta), rev),
        f.source.put(origin('a.test'), tb, built('a.test', tb), rev),
      ]);
      expect([a.ok, b.ok].filter(Boolean)).toHaveLength(1);
      expect([a, b].find((x) => !x.ok)).toMatchObject({ code: 'MRD_ERR_API_PRECONDITION' });
      expect(servedWww(f.holder, 'a.test')).toBe(a.ok ? '192.0.2.10' : '192.0.2.20');
    });

    it('create refuses an existing zone (MRD_ERR_API_CONFLICT) and adds a new one; delete honours the revision', async () => {
      await f.writeOutside('a.test', zoneText('a.test', 1, '192.0.2.1'));
      await f.source.start();
      const again = zoneText('a.test', 5, '192.0.2.5');
      expect(await f.source.put(origin('a.test'), again, built('a.test', again), null)).toMatchObject({ ok: false, code: 'MRD_ERR_API_CONFLICT' });
      const fresh = zoneText('c.test', 1, '198.51.100.7');
      expect(await f.source.put(origin('c.test'), fresh, built('c.test', fresh), null)).toEqual({ ok: true });
      expect(servedWww(f.holder, 'c.test')).toBe('198.51.100.7');
      const rev = f.source.entry(origin('c.test'))!.revision;
      expect(await f.source.delete(origin('c.test'), 'not-the-revision-0')).toMatchObject({ ok: false, code: 'MRD_ERR_API_PRECONDITION' });
      expect(f.source.entry(origin('c.test'))).toBeDefined();
      expect(await f.source.delete(origin('c.test'), rev)).toEqual({ ok: true });
      expect(f.source.entry(origin('c.test'))).toBeUndefined();
      expect(servedWww(f.holder, 'c.test')).toBeUndefined();
      expect(f.holder.current.catalog.size).toBe(1);
    });

    it('changes made outside are picked up and swapped in; a removal stops serving the zone', async () => {
      await f.writeOutside('a.test', zoneText('a.test', 1, '192.0.2.1'));
      await f.source.start();
      const rev = f.source.revision();
      await f.writeOutside('a.test', zoneText('a.test', 2, '192.0.2.42'));
      await waitFor(async () => servedWww(f.holder, 'a.test') === '192.0.2.42', 10_000, 50);
      expect(f.source.entry(origin('a.test'))!.zone.serial).toBe(2);
      expect(f.source.revision()).toBeGreaterThanOrEqual(rev);
      await f.writeOutside('d.test', zoneText('d.test', 1, '198.51.100.1'));
      await waitFor(async () => servedWww(f.holder, 'd.test') === '198.51.100.1', 10_000, 50);
      await f.removeOutside('d.test');
      // The snapshot is swapped last (the file source finishes its scan first), so wait for it.
      await waitFor(async () => servedWww(f.holder, 'd.test') === undefined, 10_000, 50);
      expect(f.source.entry(origin('d.test'))).toBeUndefined();
    });

    it('a broken version never replaces the last good one, and is reported', async () => {
      await f.writeOutside('a.test', zoneText('a.test', 1, '192.0.2.1'));
      await f.source.start();
      await f.writeOutside('a.test', zoneText('a.test', 2, '192.0.2.1').replace('type: A, value: 192.0.2.1', 'type: A, value: not-an-address'));
      const bad = await waitFor(async () => f.source.status().find((s) => s.errors.length > 0), 10_000, 50);
      expect(bad.errors[0]!.message).toMatch(/address|IPv4|not-an-address/i);
      expect(bad.serial).toBe(1);
      expect(servedWww(f.holder, 'a.test')).toBe('192.0.2.1');
      expect(f.source.entry(origin('a.test'))!.zone.serial).toBe(1);
      // A good version after it is served again.
      await f.writeOutside('a.test', zoneText('a.test', 3, '192.0.2.3'));
      await waitFor(async () => servedWww(f.holder, 'a.test') === '192.0.2.3', 10_000, 50);
      expect(f.source.status().every((s) => s.errors.length === 0)).toBe(true);
    });
  });
}
