/**
 * state/replica.ts: what a DNS worker is given rebuilds the node's snapshot — the same version,
 * the same zones, health, overrides and latency table — so that the worker's answers are the
 * node's, byte for byte, after every kind of change; and an update carries a zone's text only
 * when the workers do not hold that zone yet.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildQuery, decode } from '../../test/support/dns-client.js';
import { DEFAULT_PIPELINE_OPTIONS, handleQuery, type QueryEnv } from '../dns/pipeline.js';
import { LatencyTable } from '../policy/latency-table.js';
import { loadZoneText, zoneInput } from '../zone/load.js';
import { buildZone } from '../zone/zone.js';
import { parseZoneText } from '../zone/load.js';
import { checkZoneDir } from './file-source.js';
import { ReplicaFeed, ReplicaHolder } from './replica.js';
import { SnapshotHolder } from './snapshot.js';

const shipped = path.resolve(import.meta.dirname, '../../zones');

/** A zone whose policies decide without dice: single-endpoint pools, sticky weights. */
function zoneText(serial: number, extra = ''): string {
  return [
    'zone: rep.test',
    `soa: { mname: ns1, rname: hostmaster, serial: ${serial}, refresh: 1h, retry: 15m, expire: 2w, minimum: 60 }`,
    'ns: [ns1]',
    'records:',
    '  - { name: ns1, type: A, value: 192.0.2.53 }',
    extra,
    'regions:',
    '  - { id: us, location: { lat: 39, lon: -77 }, country: US }',
    '  - { id: eu, location: { lat: 53, lon: -6 }, country: IE }',
    'pools:',
    '  - { id: a, endpoints: [{ id: a1, address: 192.0.2.1, region: us }] }',
    '  - { id: b, endpoints: [{ id: b1, address: 192.0.2.2, region: eu }] }',
    '  - { id: w, endpoints: [{ id: w1, address: 192.0.2.11, region: us }, { id: w2, address: 192.0.2.12, region: eu }] }',
    'policies:',
    '  - { name: fo, type: A, policy: { failover: { tiers: [{ pool: a }, { pool: b }] } } }',
    '  - { name: geo, type: A, policy: { geo: { branches: [{ match: { continents: [EU] }, policy: { pool: b } }], default: { pool: a } } } }',
    '  - { name: near, type: A, policy: { latency: { regions: [{ region: us, policy: { pool: a } }, { region: eu, policy: { pool: b } }] } } }',
    '  - { name: sticky, type: A, policy: { weighted: { pool: w, sticky: true } } }',
  ].join('\n');
}

function build(text: string, file = 'rep.test.yaml') {
  const r = loadZoneText(text, file);
  if (!r.ok) throw new Error(r.errors.map((e) => e.format()).join('\n'));
  return r.zone;
}

const clients = [
  { family: 1 as const, sourcePrefix: 24, address: '81.2.69.0' },
  { family: 1 as const, sourcePrefix: 24, address: '8.8.8.0' },
  { family: 1 as const, sourcePrefix: 24, address: '192.0.2.0' },
  { family: 2 as const, sourcePrefix: 48, address: '2001:db8:1::' },
];
const questions: [string, string][] = [
  ['fo.rep.test', 'A'],
  ['geo.rep.test', 'A'],
  ['near.rep.test', 'A'],
  ['sticky.rep.test', 'A'],
  ['nope.rep.test', 'A'],
  ['www.example.net', 'A'],
  ['big.example.net', 'A'],
  ['example.net', 'SOA'],
];

/** Every question for every client (and with no ECS), answered through each holder: the bytes must agree. */
function expectSameAnswers(node: SnapshotHolder, worker: SnapshotHolder): void {
  const env = (h: SnapshotHolder): QueryEnv => ({ snapshots: h, options: DEFAULT_PIPELINE_OPTIONS });
  let n = 0;
  for (const [name, type] of questions) {
    for (const ecs of [undefined, ...clients]) {
      const q = buildQuery(name, type, { id: ++n, ...(ecs ? { ecs } : {}) });
      const a = handleQuery(q, { transport: 'udp', remoteAddress: '198.51.100.7' }, env(node));
      const b = handleQuery(q, { transport: 'udp', remoteAddress: '198.51.100.7' }, env(worker));
      expect(b, `${name} ${type} ${ecs?.address ?? 'no ECS'}`).toEqual(a);
    }
  }
}

/** The addresses `holder` answers for `name`, for a client in `ecs` (none: the source address). */
function addresses(holder: SnapshotHolder, name: string, ecs?: (typeof clients)[number]): string[] {
  const out = handleQuery(
    buildQuery(name, 'A', ecs ? { ecs } : {}),
    { transport: 'udp', remoteAddress: '198.51.100.7' },
    { snapshots: holder, options: DEFAULT_PIPELINE_OPTIONS },
  );
  return (decode(out as Buffer).answers ?? []).map((a) => String(a.data));
}

describe('a worker rebuilt from ReplicaFeed answers as the node does', () => {
  it('after the full state, then after every kind of change', async () => {
    const { zones } = await checkZoneDir(shipped);
    const node = new SnapshotHolder();
    node.swap([...zones, build(zoneText(1))]);
    const feed = new ReplicaFeed(node);
    const worker = new ReplicaHolder();
    expect(feed.next()).not.toBeNull();
    worker.apply(feed.full());
    expect(worker.holder.current.version).toBe(node.current.version);
    expectSameAnswers(node, worker.holder);
    expect(feed.next()).toBeNull(); // nothing changed since

    // A health verdict: the failover moves to its second tier.
    expect(addresses(worker.holder, 'fo.rep.test')).toEqual(['192.0.2.1']);
    node.health.setHealth('a/a1', 'down');
    const health = feed.next()!;
    expect(Object.keys(health)).toEqual(['health']);
    worker.apply(health);
    expect(addresses(worker.holder, 'fo.rep.test')).toEqual(['192.0.2.2']);
    expectSameAnswers(node, worker.holder);

    // An operator's drain of a region, with an expiry.
    node.health.setOverride({ region: 'eu' }, { kind: 'drain', reason: 'test', by: 'me', expiresAt: Date.now() + 60_000 });
    worker.apply(feed.next()!);
    expect(worker.holder.health.overrides().regions.get('eu')).toMatchObject({ kind: 'drain', reason: 'test' });
    expect(addresses(worker.holder, 'geo.rep.test', clients[0])).toEqual(['192.0.2.1']); // EU drained: the default
    expectSameAnswers(node, worker.holder);
    node.health.setOverride({ region: 'eu' }, null);
    node.health.setHealth('a/a1', 'up');
    worker.apply(feed.next()!);
    expectSameAnswers(node, worker.holder);

    // The run-time latency table: the UK network measured nearer to us.
    expect(addresses(worker.holder, 'near.rep.test', clients[0])).toEqual(['192.0.2.2']); // by distance: Dublin
    node.live.latency = new LatencyTable([{ from: '81.2.69.0/24', rtt: { us: 5, eu: 90 } }]);
    const latency = feed.next()!;
    expect(Object.keys(latency)).toEqual(['latency']);
    worker.apply(latency);
    expect(addresses(worker.holder, 'near.rep.test', clients[0])).toEqual(['192.0.2.1']); // by the table: us
    expectSameAnswers(node, worker.holder);

    // One zone changes: the update carries its text, and only its.
    node.swap([...zones, build(zoneText(2, '  - { name: extra, type: A, value: 192.0.2.77 }'))]);
    const swap = feed.next()!;
    expect(swap.zones!.version).toBe(node.current.version);
    expect(swap.zones!.list.filter((z) => z.source).map((z) => z.source!.file)).toEqual(['rep.test.yaml']);
    worker.apply(swap);
    expect(worker.holder.current.version).toBe(node.current.version);
    questions.push(['extra.rep.test', 'A']);
    expectSameAnswers(node, worker.holder);

    // A zone removed.
    node.swap(zones);
    worker.apply(feed.next()!);
    expect([...worker.holder.current.catalog.zones].map((z) => z.origin).sort()).toEqual(zones.map((z) => z.origin).sort());
    expectSameAnswers(node, worker.holder);
  });

  it('a starting worker gets every zone with its text; running ones, ids for what they hold', async () => {
    const { zones } = await checkZoneDir(shipped);
    const node = new SnapshotHolder(zones);
    const feed = new ReplicaFeed(node);
    feed.next();
    node.swap([...zones, build(zoneText(1))]);
    const next = feed.next()!;
    expect(next.zones!.list.filter((z) => z.source)).toHaveLength(1);
    const full = feed.full();
    expect(full.zones!.list.every((z) => z.source)).toBe(true);
    expect(full.zones!.list.map((z) => z.id).sort()).toEqual(next.zones!.list.map((z) => z.id).sort());
    expect(full.latency).toBeNull();
  });

  it('an update that cannot be applied changes nothing (and says why)', async () => {
    const worker = new ReplicaHolder();
    worker.apply({ zones: { version: 3, list: [{ id: 1, source: { text: zoneText(1), file: 'rep.test.yaml' } }] } });
    expect(() =>
      worker.apply({ zones: { version: 4, list: [{ id: 1 }, { id: 9 }] }, health: { health: [['a/a1', 'down']], endpoints: [], regions: [] } }),
    ).toThrow(/never sent/);
    expect(worker.holder.current.version).toBe(3);
    expect(worker.holder.health.health('a/a1')).toBe('unknown');
    expect(() => worker.apply({ zones: { version: 5, list: [{ id: 2, source: { text: 'zone: [', file: 'bad.yaml' } }] } })).toThrow(/does not build/);
    expect(worker.holder.current.version).toBe(3);
  });

  it('a zone not built from a text cannot be handed over: MRD_ERR_INTERNAL, not a silent gap', () => {
    const bare = buildZone(parseZoneText(zoneText(1), 'rep.test.yaml'));
    if (!bare.ok) throw new Error('does not build');
    expect(zoneInput(bare.zone)).toBeUndefined();
    const feed = new ReplicaFeed(new SnapshotHolder([bare.zone]));
    expect(() => feed.full()).toThrow(expect.objectContaining({ code: 'MRD_ERR_INTERNAL' }));
  });
});
