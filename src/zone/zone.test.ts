/**
 * RFC 2181 §5.2 in zone/zone.ts: an RRset whose records carry different TTLs loads (as in BIND and
 * NSD) with the first record's TTL, and the zone carries a coded warning,
 * MRD_ERR_ZONE_TTL_MISMATCH, naming the file, line and RRset; an RRset with one TTL gives none.
 */
import { describe, expect, it } from 'vitest';
import { keyToPresentation } from '../proto/name.js';
import { RRType } from '../proto/types.js';
import { loadZoneText } from './load.js';

const zone = (www: string) => `$ORIGIN example.org.
$TTL 3600
@ IN SOA ns1 hostmaster 1 3600 600 604800 60
@ IN NS ns1
ns1 IN A 192.0.2.53
${www}
`;

describe('RRset TTLs (RFC 2181 §5.2)', () => {
  it('differing TTLs load with the first TTL and a MRD_ERR_ZONE_TTL_MISMATCH warning', () => {
    const r = loadZoneText(zone('www 300 IN A 192.0.2.1\nwww 600 IN A 192.0.2.2'), 'example.org.zone');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const set = r.zone.rrsets.find((s) => keyToPresentation(s.owner) === 'www.example.org.' && s.type === RRType.A);
    expect(set?.ttlSeconds).toBe(300);
    expect(set?.rdatas).toHaveLength(2);
    expect(r.zone.warnings.map((w) => [w.code, w.line, w.format()])).toEqual([
      ['MRD_ERR_ZONE_TTL_MISMATCH', 6, 'example.org.zone:6: A RRset at "www.example.org" has differing TTLs (RFC 2181 §5.2); using 300'],
    ]);
  });

  it('one TTL per RRset gives no warning', () => {
    const r = loadZoneText(zone('www 300 IN A 192.0.2.1\nwww 300 IN A 192.0.2.2'), 'example.org.zone');
    expect(r.ok && r.zone.warnings).toEqual([]);
  });
});
