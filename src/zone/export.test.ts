/**
 * A master-file zone written back by the admin API (zone/export.ts toManagedMasterFile): the
 * shipped example.net.zone, every type it holds, comes back as the same RRsets (RFC 1035 §5.1
 * text, wire-equal RDATA), and rendering the reloaded zone gives the same text byte for byte.
 * Also what a master file cannot hold, and the meridian-etag line (zone/etag-line.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { beyondMasterFile, documentOf, documentToYaml, MANAGED_MASTER_HEADER, recordLines, toManagedMasterFile } from './export.js';
import { splitEtagLine, withEtagLine } from './etag-line.js';
import { loadZoneText } from './load.js';
import type { Zone } from './zone.js';
import type { ZoneDocument } from '../model/zone-schema.js';

const shipped = path.resolve(import.meta.dirname, '../../zones');

function load(text: string, file: string): Zone {
  const r = loadZoneText(text, file);
  if (!r.ok) throw new Error(r.errors.map((e) => e.format()).join('\n'));
  return r.zone;
}

/** RRsets as owner/type/ttl/wire-hex, sorted: equal when two zones hold the same data. */
function wire(zone: Zone): string[] {
  return zone.rrsets.flatMap((s) => s.rdatas.map((r) => `${s.owner} ${s.type} ${s.ttlSeconds} ${r.toString('hex')}`)).sort();
}

describe('toManagedMasterFile', () => {
  const original = load(fs.readFileSync(path.join(shipped, 'example.net.zone'), 'utf8'), path.join(shipped, 'example.net.zone'));

  it('the shipped master file comes back as the same RRsets, and renders to the same text again', () => {
    const text = toManagedMasterFile(original);
    expect(text.startsWith(`${MANAGED_MASTER_HEADER}\n$ORIGIN example.net.\n`)).toBe(true);
    const again = load(text, 'example.net.zone');
    expect(wire(again)).toEqual(wire(original));
    expect(again.serial).toBe(original.serial);
    expect(again.negativeTtlSeconds).toBe(original.negativeTtlSeconds);
    expect(toManagedMasterFile(again)).toBe(text);
    // $ORIGIN comes first, so it loads from any file name or etcd key.
    expect(wire(load(text, 'etcd:/meridian/zones/example.net.zone'))).toEqual(wire(original));
  });

  it('the path an API write takes (document, YAML, build, master file) keeps every record', () => {
    const doc = documentOf(original, '', 'master');
    doc.records!.push({ name: 'added', type: 'TXT', value: '"through the API"' });
    const viaYaml = load(documentToYaml(doc), 'example.net.yaml');
    const text = toManagedMasterFile(viaYaml);
    const back = load(text, 'example.net.zone');
    expect(recordLines(back)).toEqual(recordLines(viaYaml));
    expect(recordLines(back)).toContain('added.example.net 3600 16 "through the API"');
    expect(wire(back).length).toBe(wire(original).length + 1);
  });
});

describe('beyondMasterFile', () => {
  const base: ZoneDocument = {
    zone: 'x.test',
    soa: { mname: 'ns1', rname: 'h', serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 1 },
    ns: ['ns1'],
    records: [],
  };
  it('names what a master file cannot hold, and nothing for plain records', () => {
    expect(beyondMasterFile(base)).toEqual([]);
    expect(beyondMasterFile({ ...base, regions: [], transfer: { allow: ['127.0.0.0/8', '::1/128'] } })).toEqual([]);
    expect(
      beyondMasterFile({
        ...base,
        regions: [{ id: 'r', location: { lat: 0, lon: 0 }, country: 'DE' }],
        policies: [{ name: 'lb', type: 'A', policy: { pool: 'p' } }] as never,
        transfer: { allow: [] },
      }),
    ).toEqual(['regions', 'policies', 'transfer.allow']);
  });
});

describe('the meridian-etag line', () => {
  it('is split off byte for byte, in both comment styles; a text without one is unchanged', () => {
    const yaml = 'zone: x.test\n# a comment\n';
    const withLine = withEtagLine(yaml, '"7-abc"', 'yaml');
    expect(withLine).toBe('# meridian-etag: "7-abc"\nzone: x.test\n# a comment\n');
    expect(splitEtagLine(withLine)).toEqual({ etag: '"7-abc"', kind: 'yaml', text: yaml });
    expect(splitEtagLine(withEtagLine('$ORIGIN x.test.\r\n', '"1-f"', 'master'))).toEqual({ etag: '"1-f"', kind: 'master', text: '$ORIGIN x.test.\r\n' });
    expect(splitEtagLine(yaml)).toEqual({ etag: null, kind: null, text: yaml });
    // Only the first line counts.
    expect(splitEtagLine(`\n${withLine}`).etag).toBeNull();
  });

  it('is a comment to both parsers: a file that keeps it loads to the same zone', () => {
    const file = fs.readFileSync(path.join(shipped, 'example.net.zone'), 'utf8');
    expect(wire(load(withEtagLine(file, '"1-x"', 'master'), 'example.net.zone'))).toEqual(wire(load(file, 'example.net.zone')));
    const y = fs.readFileSync(path.join(shipped, 'gslb.example.org.yaml'), 'utf8');
    expect(wire(load(withEtagLine(y, '"1-x"', 'yaml'), 'g.yaml'))).toEqual(wire(load(y, 'g.yaml')));
  });
});
