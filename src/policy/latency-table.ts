/**
 * @module policy/latency-table
 * Round-trip estimates from a client to each region, for the latency policy.
 *
 * Source 1, a latency table: rows of measured RTTs (ms) from a client network (CIDR) or a
 * country (ISO 3166-1 alpha-2) to regions. The longest matching CIDR row wins, then the
 * country row. Source 2, when no row matches or a row lacks a region: the great-circle
 * distance from the client's geolocation to the region, turned into an RTT estimate:
 *
 *     rtt_ms = 5 + distance_km / 100 × 1.5
 *
 * Light in fibre covers about 100 km per millisecond of round trip (200,000 km/s, there and
 * back); real paths are about 1.5 times the great circle; 5 ms is the last mile at both ends.
 * New York to London (5,570 km) comes out at 88 ms, Frankfurt to Paris (480 km) at 12 ms.
 */
import { PrefixTable } from './prefix-table.js';
import type { Client } from './client.js';

export type LatencyRow = ReadonlyMap<string, number>;

export interface LatencyRowSpec {
  /** A CIDR (`198.51.100.0/24`) or a country code (`DE`). */
  readonly from: string;
  /** Region id → RTT in milliseconds. */
  readonly rtt: Readonly<Record<string, number>>;
}

export class LatencyTable {
  readonly #networks: PrefixTable<LatencyRow>;
  readonly #countries: ReadonlyMap<string, LatencyRow>;
  readonly rows: readonly LatencyRowSpec[];

  /** Throws with the index of a bad row (bad CIDR or country, duplicate, RTT < 0). */
  constructor(rows: readonly LatencyRowSpec[]) {
    const networks: { network: string; value: LatencyRow }[] = [];
    const countries = new Map<string, LatencyRow>();
    rows.forEach((row, i) => {
      const values = new Map(Object.entries(row.rtt));
      for (const [region, ms] of values) {
        if (!Number.isFinite(ms) || ms < 0) throw new LatencyTableError(i, `rtt to ${region} must be a number of milliseconds >= 0`);
      }
      if (/^[A-Za-z]{2}$/.test(row.from)) {
        const cc = row.from.toUpperCase();
        if (countries.has(cc)) throw new LatencyTableError(i, `country ${cc} has two rows`);
        countries.set(cc, values);
      } else {
        networks.push({ network: row.from, value: values });
      }
    });
    try {
      this.#networks = new PrefixTable(networks);
    } catch (err) {
      const bad = networks.findIndex((n) => (err as Error).message.includes(n.network));
      throw new LatencyTableError(
        rows.findIndex((r) => r.from === networks[bad]?.network),
        (err as Error).message,
      );
    }
    this.#countries = countries;
    this.rows = rows;
  }

  /**
   * The row for a client: its longest CIDR row, else its country's row. `scope` is what the
   * CIDR rows alone say about the client (the caller adds its geolocation's scope when the
   * answer came from a country row or from no row).
   */
  rowFor(client: Client, country: string): { row: LatencyRow | undefined; via: string; byNetwork: boolean; scope: number } {
    const m = this.#networks.lookup(client);
    if (m.value) return { row: m.value, via: `table row ${m.network}`, byNetwork: true, scope: m.scope };
    const byCountry = country ? this.#countries.get(country) : undefined;
    return { row: byCountry, via: byCountry ? `table row ${country}` : '', byNetwork: false, scope: m.scope };
  }
}

export class LatencyTableError extends Error {
  constructor(
    readonly row: number,
    reason: string,
  ) {
    super(reason);
  }
}

const EARTH_RADIUS_KM = 6371;

/** Great-circle distance in km (haversine). */
export function distanceKm(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const rad = Math.PI / 180;
  const dLat = (lat2 - lat1) * rad;
  const dLon = (lon2 - lon1) * rad;
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(a)));
}

/** The RTT estimate for a distance (see the module comment for the formula). */
export function rttFromDistance(km: number): number {
  return 5 + (km / 100) * 1.5;
}
