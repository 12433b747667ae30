/**
 * @module drill/vantage
 * Client vantage points for drills: one client network (/24) per country. Networks come from the
 * GeoLite2 country table shipped with geoip-lite: the first whole /24 of the country's largest
 * IPv4 range. Each is checked with the same geolocation the policies use (policy/geoip.ts) and
 * kept only if it lands in that country.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { clientFromText } from '../policy/client.js';
import { locate, type GeoDatabase } from '../policy/geoip.js';

export interface VantagePoint {
  readonly country: string;
  /** A /24 that geolocates to the country, e.g. `81.2.69.0/24`. */
  readonly subnet: string;
}

/** Major countries every preview includes, besides those the zones name. */
export const DEFAULT_COUNTRIES = ['US', 'CA', 'BR', 'GB', 'DE', 'FR', 'NL', 'ZA', 'IN', 'SG', 'JP', 'AU'];

let largest: Map<string, [number, number]> | undefined;

function ranges(): Map<string, [number, number]> {
  if (largest) return largest;
  const dir = path.dirname(createRequire(import.meta.url).resolve('geoip-lite/package.json'));
  const b = fs.readFileSync(path.join(dir, 'data', 'geoip-country.dat'));
  largest = new Map();
  // Records of 10 octets: start, end (uint32), country code (2 ASCII octets).
  for (let o = 0; o + 10 <= b.length; o += 10) {
    const start = b.readUInt32BE(o);
    const end = b.readUInt32BE(o + 4);
    const cc = b.toString('latin1', o + 8, o + 10);
    const cur = largest.get(cc);
    if (!cur || end - start > cur[1] - cur[0]) largest.set(cc, [start, end]);
  }
  return largest;
}

function text(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/**
 * One checked /24 per country (countries without a usable network are left out), checked with
 * `geo`, the database the policies use (null: the embedded one).
 */
export function vantagePoints(countries: Iterable<string>, geo: GeoDatabase | null = null): VantagePoint[] {
  const out: VantagePoint[] = [];
  const seen = new Set<string>();
  for (const raw of countries) {
    const cc = raw.toUpperCase();
    if (seen.has(cc)) continue;
    seen.add(cc);
    const r = ranges().get(cc);
    if (!r) continue;
    const first = Math.ceil(r[0] / 256) * 256;
    if (first + 255 > r[1]) continue;
    const subnet = `${text(first)}/24`;
    const client = clientFromText(subnet)!;
    if (locate(client, geo).country === cc) out.push({ country: cc, subnet });
  }
  return out;
}
