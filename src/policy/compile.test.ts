/**
 * Policy compilation through the whole load path (YAML → schema → policy/compile.ts → zone/zone.ts):
 * every kind of mistake in regions, pools, policy records and latency rows refuses the zone with
 * its code and the exact line an operator has to fix, and a bad zone is never half-loaded.
 *
 * Each bad zone is {@link BASE} (a valid zone) with one mistake. The expected line is given as a
 * piece of text that occurs exactly once in the mistaken zone, so the line is exact and yet does
 * not shift when BASE grows.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ErrorCode, ZoneError } from '../errors.js';
import { RRType } from '../proto/types.js';
import { loadZoneText } from '../zone/load.js';
import type { PolicyNode } from './types.js';

const FILE = 'zones/lb.example.org.yaml';

/** A valid zone with a little of everything; `policies` comes last so cases can append to it. */
const BASE = `zone: lb.example.org
soa:
  mname: ns1
  rname: hostmaster.example.org.
  serial: 1
  refresh: 1h
  retry: 15m
  expire: 2w
  minimum: 60
ns: [ns1]
records:
  - { name: ns1, type: A, value: 192.0.2.53 }
  - { name: txt, type: TXT, value: '"hello"' }
  - { name: static, type: A, value: 192.0.2.99 }
regions:
  - { id: us-east, location: { lat: 39.04, lon: -77.49 }, country: US }
  - id: eu-west
    location: { lat: 53.35, lon: -6.26 }
    country: IE
pools:
  - id: east
    endpoints:
      - { id: e1, address: 192.0.2.10, region: us-east }
      - { id: e2, address: 192.0.2.11, region: us-east, weight: 3 }
  - id: west
    endpoints:
      - id: w1
        address: 203.0.113.10
        region: eu-west
  - id: v6only
    endpoints:
      - { address: "2001:db8::1", region: us-east }
  - id: cdn
    endpoints:
      - { hostname: edge.cdn.example.net., region: us-east }
latency:
  - from: 198.51.100.0/24
    rtt_ms:
      us-east: 10
      eu-west: 90
  - { from: PT, rtt_ms: { eu-west: 25 } }
policies:
  - { name: www, type: A, policy: { pool: east } }
  - name: api
    type: A
    ttl: 20
    on_all_down: serve_none
    policy:
      geo:
        branches:
          - match:
              continents: [EU]
            policy:
              failover:
                tiers:
                  - pool: west
                  - weighted: { pool: east }
          - match:
              countries:
                - US
                - CA
            policy:
              latency:
                regions:
                  - region: us-east
                    policy: { pool: east }
                  - region: eu-west
                    policy: { pool: west }
        default:
          pool: east
  - name: office
    type: A
    policy:
      cidr:
        routes:
          - networks:
              - 10.0.0.0/8
              - 2001:db8:1000::/36
            policy: { pool: west }
        default: { use: api }
  - { name: v6, type: AAAA, policy: { pool: v6only } }
  - { name: cdn, type: CNAME, on_all_down: { pool: cdn }, policy: { pool: cdn } }
`;

// ---- building bad zones ------------------------------------------------------------------------

/** Replaces the one occurrence of `from` (failing loudly when it is not exactly one). */
function swap(text: string, from: string, to: string): string {
  const n = text.split(from).length - 1;
  if (n !== 1) throw new Error(`"${from}" occurs ${n} times in the zone, not once`);
  return text.replace(from, () => to);
}

/** Inserts lines before the one occurrence of `anchor`. */
function before(text: string, anchor: string, lines: string): string {
  return swap(text, anchor, lines + anchor);
}

/** Appends policy records (YAML lines, indented as list items of `policies:`). */
function addPolicies(text: string, lines: string): string {
  return text + lines;
}

/** The 1-based line of the one line holding `fragment`. */
function lineOf(text: string, fragment: string): number {
  const lines = text.split('\n');
  const hits = lines.flatMap((l, i) => (l.includes(fragment) ? [i + 1] : []));
  if (hits.length !== 1) throw new Error(`"${fragment}" is on ${hits.length} lines of the zone, not one`);
  return hits[0]!;
}

function load(text: string) {
  return loadZoneText(text, FILE);
}

function errorsOf(text: string): ZoneError[] {
  const r = load(text);
  if (r.ok) throw new Error('the zone loaded, but it should not have');
  return r.errors;
}

interface Expected {
  code: ErrorCode;
  /** Text on exactly one line of the bad zone: the line the error must point at. */
  at: string;
  /** A piece of the message. */
  message: string;
}

interface BadCase {
  name: string;
  zone: string;
  /** Every error the zone must produce (no more, no fewer). */
  errors: Expected[];
}

function bad(name: string, zone: string, ...errors: Expected[]): BadCase {
  return { name, zone, errors };
}

const e = (code: ErrorCode, at: string, message: string): Expected => ({ code, at, message });

const CASES: BadCase[] = [
  // ---- references ------------------------------------------------------------------------------
  bad(
    'unknown pool in a leaf → MRD_ERR_POLICY_REFERENCE at the pool line',
    addPolicies(BASE, `  - name: leaf\n    type: A\n    policy:\n      pool: nope\n`),
    e('MRD_ERR_POLICY_REFERENCE', 'pool: nope', 'policies[5].policy.pool: unknown pool "nope"'),
  ),
  bad(
    'unknown pool in a failover tier inside geo → MRD_ERR_POLICY_REFERENCE at the tier line',
    swap(BASE, '- pool: west', '- pool: nope'),
    e('MRD_ERR_POLICY_REFERENCE', '- pool: nope', 'policies[1].policy.geo.branches[0].policy.failover.tiers[0].pool: unknown pool "nope"'),
  ),
  bad(
    'unknown pool in a weighted node inside a failover tier → MRD_ERR_POLICY_REFERENCE at its line',
    swap(BASE, '- weighted: { pool: east }', '- weighted: { pool: nowhere }'),
    e('MRD_ERR_POLICY_REFERENCE', 'pool: nowhere', 'tiers[1].weighted.pool: unknown pool "nowhere"'),
  ),
  bad(
    'unknown region in an endpoint → MRD_ERR_POLICY_REFERENCE at the endpoint line',
    swap(BASE, 'address: 203.0.113.10\n        region: eu-west', 'address: 203.0.113.10\n        region: mars'),
    e('MRD_ERR_POLICY_REFERENCE', 'region: mars', 'pools[1].endpoints[0].region: unknown region "mars"'),
  ),
  bad(
    'unknown region in a latency policy → MRD_ERR_POLICY_REFERENCE at the region line',
    swap(BASE, '- region: eu-west', '- region: ap-south'),
    e('MRD_ERR_POLICY_REFERENCE', '- region: ap-south', 'latency.regions[1].region: unknown region "ap-south"'),
  ),
  bad(
    'unknown region in a latency table row → MRD_ERR_POLICY_REFERENCE at that rtt line',
    swap(BASE, '      eu-west: 90\n', '      eu-west: 90\n      mars: 400\n'),
    e('MRD_ERR_POLICY_REFERENCE', 'mars: 400', 'latency[0].rtt_ms: unknown region "mars"'),
  ),
  bad(
    'on_all_down naming an unknown pool → MRD_ERR_POLICY_REFERENCE at the on_all_down line',
    swap(BASE, 'on_all_down: serve_none', 'on_all_down: { pool: spare }'),
    e('MRD_ERR_POLICY_REFERENCE', 'on_all_down: { pool: spare }', 'policies[1].on_all_down.pool: unknown pool "spare"'),
  ),
  bad(
    '`use` of an unknown record → MRD_ERR_POLICY_REFERENCE at the use line',
    swap(BASE, 'default: { use: api }', 'default: { use: ghost }'),
    e('MRD_ERR_POLICY_REFERENCE', 'use: ghost', 'policies[2].policy.cidr.default.use: unknown policy record "ghost"'),
  ),

  // ---- `use` loops -----------------------------------------------------------------------------
  bad(
    '`use` cycle a → b → a → MRD_ERR_POLICY_CYCLE at both use lines',
    addPolicies(BASE, `  - name: a\n    type: A\n    policy:\n      use: b\n  - name: b\n    type: A\n    policy:\n      use: a\n`),
    // Each record of the loop is reported at the `use` that closes the loop from its side.
    e('MRD_ERR_POLICY_CYCLE', '      use: b', 'policy records use each other in a loop: b → a → b'),
    e('MRD_ERR_POLICY_CYCLE', '      use: a', 'policy records use each other in a loop: a → b → a'),
  ),
  bad(
    'self-`use` → MRD_ERR_POLICY_CYCLE at the use line',
    addPolicies(BASE, `  - name: self\n    type: A\n    policy:\n      use: self\n`),
    e('MRD_ERR_POLICY_CYCLE', 'use: self', 'self → self'),
  ),

  // ---- locations -------------------------------------------------------------------------------
  bad(
    'invalid country "XX" in a region → MRD_ERR_POLICY_LOCATION at the country line',
    swap(BASE, 'country: IE', 'country: XX'),
    e('MRD_ERR_POLICY_LOCATION', 'country: XX', 'regions[1].country: "XX" is not an ISO 3166-1 alpha-2 country code'),
  ),
  bad(
    'invalid country "XX" in a geo branch → MRD_ERR_POLICY_LOCATION at the list item',
    swap(BASE, '                - CA\n', '                - XX\n'),
    e('MRD_ERR_POLICY_LOCATION', '- XX', 'geo.branches[1].match.countries[1]: "XX" is not an ISO 3166-1 alpha-2 country code'),
  ),
  bad(
    'three-letter country "USA" in a region → MRD_ERR_ZONE_SCHEMA (pattern) at the country line',
    swap(BASE, 'country: US }', 'country: USA }'),
    e('MRD_ERR_ZONE_SCHEMA', 'country: USA', 'regions[0].country: must be a two-letter ISO 3166-1 country code, not the text "USA"'),
  ),
  bad(
    'invalid continent "EUR" in a region → MRD_ERR_ZONE_SCHEMA (pattern) at the continent line',
    swap(BASE, '    country: IE\n', '    country: IE\n    continent: EUR\n'),
    e('MRD_ERR_ZONE_SCHEMA', 'continent: EUR', 'regions[1].continent: must be one of AF, AN, AS, EU, NA, OC, SA, not the text "EUR"'),
  ),
  bad(
    'invalid continent "XX" in a geo branch → MRD_ERR_POLICY_LOCATION at the match line',
    swap(BASE, 'continents: [EU]', 'continents: [XX]'),
    e('MRD_ERR_POLICY_LOCATION', 'continents: [XX]', 'geo.branches[0].match.continents[0]: "XX" is not a continent code'),
  ),
  bad(
    'invalid continent "EUR" in a geo branch → MRD_ERR_POLICY_LOCATION at the match line',
    swap(BASE, 'continents: [EU]', 'continents: [EUR]'),
    e('MRD_ERR_POLICY_LOCATION', 'continents: [EUR]', '"EUR" is not a continent code'),
  ),
  bad(
    'invalid subdivision "XX-CA" in a geo branch → MRD_ERR_POLICY_LOCATION at the match line',
    swap(BASE, 'continents: [EU]', 'subdivisions: [US-CA, XX-CA]'),
    e('MRD_ERR_POLICY_LOCATION', 'subdivisions: [US-CA, XX-CA]', 'match.subdivisions[1]: "XX-CA" is not an ISO 3166-2 subdivision code'),
  ),
  bad(
    'malformed subdivision "CALIFORNIA" in a geo branch → MRD_ERR_POLICY_LOCATION',
    swap(BASE, 'continents: [EU]', 'subdivisions: [CALIFORNIA]'),
    e('MRD_ERR_POLICY_LOCATION', 'subdivisions: [CALIFORNIA]', '"CALIFORNIA" is not an ISO 3166-2 subdivision code'),
  ),
  bad(
    'invalid country in a latency table row → MRD_ERR_POLICY_LOCATION at the row',
    swap(BASE, '{ from: PT,', '{ from: XX,'),
    e('MRD_ERR_POLICY_LOCATION', 'from: XX', 'latency[1].from: "XX" is not an ISO 3166-1 alpha-2 country code'),
  ),
  bad(
    'geo location listed in two branches → MRD_ERR_POLICY_DUPLICATE at the second listing',
    swap(BASE, '                - CA\n', '                - IE\n').replace('continents: [EU]', 'countries: [IE]'),
    e('MRD_ERR_POLICY_DUPLICATE', '- IE', 'geo.branches[1].match.countries[1]: IE is already matched by an earlier branch'),
  ),

  // ---- regions, pools and endpoints ------------------------------------------------------------
  bad(
    'negative endpoint weight → MRD_ERR_ZONE_SCHEMA at the endpoint line',
    swap(BASE, 'region: us-east, weight: 3 }', 'region: us-east, weight: -1 }'),
    e('MRD_ERR_ZONE_SCHEMA', 'weight: -1', 'pools[0].endpoints[1].weight: must be a number from 0 to 1000000'),
  ),
  bad(
    'negative weight of a weighted child → MRD_ERR_ZONE_SCHEMA at the child line',
    addPolicies(
      BASE,
      `  - name: split\n    type: A\n    policy:\n      weighted:\n        children:\n          - { weight: 9, policy: { pool: east } }\n          - { weight: -1, policy: { pool: west } }\n`,
    ),
    e('MRD_ERR_ZONE_SCHEMA', 'weight: -1', 'policies[5].policy.weighted.children[1].weight: must be a number of at least 0'),
  ),
  bad(
    'empty pool (endpoints: []) → MRD_ERR_ZONE_SCHEMA at the endpoints line',
    swap(BASE, '  - id: cdn\n    endpoints:\n      - { hostname: edge.cdn.example.net., region: us-east }\n', '  - id: cdn\n    endpoints: []\n'),
    e('MRD_ERR_ZONE_SCHEMA', 'endpoints: []', 'pools[3].endpoints: must list at least 1 item'),
  ),
  bad(
    'endpoint with both address and hostname → MRD_ERR_ZONE_SCHEMA at the endpoint',
    swap(BASE, '{ hostname: edge.cdn.example.net., region: us-east }', '{ hostname: edge.cdn.example.net., address: 192.0.2.1, region: us-east }'),
    e('MRD_ERR_ZONE_SCHEMA', 'address: 192.0.2.1,', 'pools[3].endpoints[0]: must have exactly one of "address" or "hostname"'),
  ),
  bad(
    'endpoint with neither address nor hostname → MRD_ERR_ZONE_SCHEMA at the endpoint',
    swap(BASE, '{ hostname: edge.cdn.example.net., region: us-east }', '{ id: lonely, region: us-east }'),
    e('MRD_ERR_ZONE_SCHEMA', 'id: lonely', 'pools[3].endpoints[0]: must have exactly one of "address" or "hostname"'),
  ),
  bad(
    'bad IP address → MRD_ERR_POLICY_ADDRESS at the address line',
    swap(BASE, 'address: 203.0.113.10', 'address: 203.0.113.300'),
    e('MRD_ERR_POLICY_ADDRESS', 'address: 203.0.113.300', 'pools[1].endpoints[0].address: "203.0.113.300" is not an IPv4 or IPv6 address'),
  ),
  bad(
    'duplicate pool id → MRD_ERR_POLICY_DUPLICATE at the second id',
    before(BASE, 'latency:\n  - from', '  - { id: west, endpoints: [ { address: 192.0.2.77, region: us-east } ] }\n'),
    e('MRD_ERR_POLICY_DUPLICATE', '192.0.2.77', 'pools[4].id: pool "west" is defined twice'),
  ),
  bad(
    'duplicate region id → MRD_ERR_POLICY_DUPLICATE at the second id',
    before(BASE, 'pools:\n', '  - { id: us-east, location: { lat: 1, lon: 1 }, country: SG }\n'),
    e('MRD_ERR_POLICY_DUPLICATE', 'country: SG', 'regions[2].id: region "us-east" is defined twice'),
  ),
  bad(
    'duplicate endpoint id in a pool → MRD_ERR_POLICY_DUPLICATE at the second endpoint',
    swap(BASE, '{ id: e2, address: 192.0.2.11', '{ id: e1, address: 192.0.2.11'),
    e('MRD_ERR_POLICY_DUPLICATE', 'address: 192.0.2.11', 'pools[0].endpoints[1]: endpoint id "e1" appears twice in pool "east"'),
  ),
  bad(
    'duplicate default endpoint id (same address twice) → MRD_ERR_POLICY_DUPLICATE',
    swap(
      BASE,
      '      - { address: "2001:db8::1", region: us-east }\n',
      '      - { address: "2001:db8::1", region: us-east }\n      - { address: "2001:DB8::1", region: us-east }\n',
    ),
    e('MRD_ERR_POLICY_DUPLICATE', '2001:DB8::1', 'endpoint id "2001:db8::1" appears twice in pool "v6only"'),
  ),

  // ---- what a pool can answer ------------------------------------------------------------------
  bad(
    'IPv6-only pool used by an A record → MRD_ERR_POLICY_NO_ENDPOINTS at the pool line',
    addPolicies(BASE, `  - name: six\n    type: A\n    policy:\n      pool: v6only\n`),
    e('MRD_ERR_POLICY_NO_ENDPOINTS', '      pool: v6only', 'pool "v6only" has no endpoints that can answer A (needs IPv4 addresses or hostnames)'),
  ),
  bad(
    'CNAME policy record whose pool has only addresses → MRD_ERR_POLICY_NO_ENDPOINTS',
    addPolicies(BASE, `  - { name: alias, type: CNAME, policy: { pool: east } }\n`),
    e('MRD_ERR_POLICY_NO_ENDPOINTS', 'name: alias', 'pool "east" has no endpoints that can answer CNAME (needs hostnames)'),
  ),
  bad(
    'on_all_down pool that cannot answer the type → MRD_ERR_POLICY_NO_ENDPOINTS at on_all_down',
    swap(BASE, 'on_all_down: serve_none', 'on_all_down: { pool: v6only }'),
    e('MRD_ERR_POLICY_NO_ENDPOINTS', 'on_all_down: { pool: v6only }', 'policies[1].on_all_down.pool: pool "v6only" has no endpoints that can answer A'),
  ),

  // ---- networks --------------------------------------------------------------------------------
  bad(
    'CIDR with host bits (10.0.0.1/8) → MRD_ERR_POLICY_NETWORK at the network line',
    swap(BASE, '- 10.0.0.0/8', '- 10.0.0.1/8'),
    e('MRD_ERR_POLICY_NETWORK', '10.0.0.1/8', 'cidr.routes[0].networks[0]: "10.0.0.1/8" has bits set past its prefix length (did you mean 10.0.0.0/8?)'),
  ),
  bad(
    'CIDR with a bad address (300.0.0.0/8) → MRD_ERR_POLICY_NETWORK at the network line',
    swap(BASE, '- 10.0.0.0/8', '- 300.0.0.0/8'),
    e('MRD_ERR_POLICY_NETWORK', '300.0.0.0/8', '"300.0.0.0/8" is not an IP network'),
  ),
  bad(
    'CIDR with a prefix too long (10.0.0.0/33) → MRD_ERR_POLICY_NETWORK',
    swap(BASE, '- 10.0.0.0/8', '- 10.0.0.0/33'),
    e('MRD_ERR_POLICY_NETWORK', '10.0.0.0/33', 'has a prefix longer than 32 bits'),
  ),
  bad(
    'duplicate network in a cidr policy → MRD_ERR_POLICY_NETWORK at the second listing',
    swap(BASE, '              - 2001:db8:1000::/36\n', '              - 2001:db8:1000::/36\n              - 10.0.0.0/8   # again\n'),
    e('MRD_ERR_POLICY_NETWORK', '# again', 'cidr.routes[0].networks[2]: network 10.0.0.0/8 is listed twice'),
  ),
  bad(
    'bad network in a latency table row → MRD_ERR_POLICY_NETWORK at the from line',
    swap(BASE, 'from: 198.51.100.0/24', 'from: 198.51.100.7/24'),
    e('MRD_ERR_POLICY_NETWORK', 'from: 198.51.100.7/24', 'latency[0].from: "198.51.100.7/24" has bits set past its prefix length'),
  ),

  // ---- the shape of a policy tree --------------------------------------------------------------
  bad(
    'a policy node with two keys (record level) → MRD_ERR_ZONE_SCHEMA at the node',
    addPolicies(BASE, `  - name: two\n    type: A\n    policy:\n      pool: west\n      use: www\n`),
    // Today the words are "must be a map of fields" (see the note at the top of the file).
    e('MRD_ERR_ZONE_SCHEMA', '      pool: west', 'policies[5].policy: must be a'),
  ),
  bad(
    'a policy node with two keys (a failover tier) → MRD_ERR_ZONE_SCHEMA at the tier',
    swap(BASE, '- pool: west', '- { pool: west, use: www }'),
    e('MRD_ERR_ZONE_SCHEMA', '- { pool: west, use: www }', 'policies[1].policy.geo.branches[0].policy.failover.tiers[0]: must be a'),
  ),
  bad(
    'a policy node that is empty (a failover tier `~`) → MRD_ERR_ZONE_SCHEMA at the tier',
    swap(BASE, '- pool: west', '- ~'),
    e('MRD_ERR_ZONE_SCHEMA', '                  - ~', 'policies[1].policy.geo.branches[0].policy.failover.tiers[0]: must be a map of fields, not empty'),
  ),
  bad(
    'unknown policy kind ("roundrobin") → MRD_ERR_ZONE_SCHEMA at the node',
    addPolicies(BASE, `  - name: rr\n    type: A\n    policy:\n      roundrobin: { pool: east }\n`),
    e('MRD_ERR_ZONE_SCHEMA', 'roundrobin:', 'policies[5].policy: unknown policy "roundrobin"'),
  ),
  bad(
    'unknown policy kind nested in a cidr route → MRD_ERR_ZONE_SCHEMA at the node',
    swap(BASE, 'policy: { pool: west }\n        default: { use: api }', 'policy: { roundrobin: west }\n        default: { use: api }'),
    e('MRD_ERR_ZONE_SCHEMA', 'roundrobin: west', 'cidr.routes[0].policy: unknown policy "roundrobin"'),
  ),
  bad(
    'unknown option of a node ("tolerance" for tolerance_ms) → MRD_ERR_ZONE_SCHEMA at the node',
    swap(BASE, '                    policy: { pool: west }\n', '                    policy: { pool: west }\n                tolerance: 5\n'),
    e('MRD_ERR_ZONE_SCHEMA', 'tolerance: 5', 'policies[1].policy.geo.branches[1].policy.latency: unknown field "tolerance"'),
  ),

  // ---- sections that are not lists, entries that are empty: reported, never thrown ----------
  bad(
    'latency that is not a list → MRD_ERR_ZONE_SCHEMA at its line (and nothing thrown)',
    swap(
      BASE,
      'latency:\n  - from: 198.51.100.0/24\n    rtt_ms:\n      us-east: 10\n      eu-west: 90\n  - { from: PT, rtt_ms: { eu-west: 25 } }\n',
      'latency: fast\n',
    ),
    e('MRD_ERR_ZONE_SCHEMA', 'latency: fast', 'latency: must be a list, not the text "fast"'),
  ),
  bad(
    'an empty latency row → MRD_ERR_ZONE_SCHEMA at its line (and nothing thrown)',
    swap(BASE, 'latency:\n  - from', 'latency:\n  - ~   # empty row\n  - from'),
    e('MRD_ERR_ZONE_SCHEMA', '# empty row', 'latency[0]: must be a map of fields, not empty'),
  ),
  bad(
    'an empty pool entry → MRD_ERR_ZONE_SCHEMA only (the other pools still resolve)',
    swap(BASE, 'pools:\n', 'pools:\n  - ~\n'),
    e('MRD_ERR_ZONE_SCHEMA', '  - ~', 'pools[0]: must be a map of fields, not empty'),
  ),
  bad(
    'an empty region entry → MRD_ERR_ZONE_SCHEMA only (the other regions still resolve)',
    swap(BASE, 'regions:\n  - { id: us-east', 'regions:\n  - ~\n  - { id: us-east'),
    e('MRD_ERR_ZONE_SCHEMA', '  - ~', 'regions[0]: must be a map of fields, not empty'),
  ),
  bad(
    'pools that is not a list → MRD_ERR_ZONE_SCHEMA (and nothing thrown)',
    BASE.slice(0, BASE.indexOf('policies:\n')).replace(/pools:\n[\s\S]*?(?=latency:\n {2}- from)/, 'pools: many\n'),
    e('MRD_ERR_ZONE_SCHEMA', 'pools: many', 'pools: must be a list, not the text "many"'),
  ),

  // ---- records ---------------------------------------------------------------------------------
  bad(
    'duplicate policy record (same name and type) → MRD_ERR_POLICY_DUPLICATE at the second name',
    addPolicies(BASE, `  - name: WWW\n    type: a\n    policy: { pool: west }\n`),
    e('MRD_ERR_POLICY_DUPLICATE', 'name: WWW', 'policies[5].name: a A policy record named "WWW" is already defined'),
  ),
  bad(
    'ttl over 2^31-1 → MRD_ERR_ZONE_TTL at the ttl line',
    swap(BASE, 'ttl: 20', 'ttl: 2147483648'),
    e('MRD_ERR_ZONE_TTL', 'ttl: 2147483648', 'policies[1].ttl: must be from 0 to 2147483647 seconds (RFC 2181 §8), not 2147483648'),
  ),
  bad(
    'ttl over 2^31-1 written with units (4000w) → MRD_ERR_ZONE_TTL at the ttl line',
    swap(BASE, 'ttl: 20', 'ttl: 4000w'),
    e('MRD_ERR_ZONE_TTL', 'ttl: 4000w', 'policies[1].ttl: must be from 0 to 2147483647 seconds (RFC 2181 §8), not 4000w (2419200000 seconds)'),
  ),
  bad(
    'policy record at the apex ("@") → MRD_ERR_POLICY_CONFLICT at the record',
    addPolicies(BASE, `  - { name: "@", type: A, policy: { pool: east } }\n`),
    e('MRD_ERR_POLICY_CONFLICT', 'name: "@"', 'policy record A lb.example.org at "lb.example.org" conflicts with the zone apex'),
  ),
  bad(
    'policy record below a delegation → MRD_ERR_POLICY_CONFLICT at the record',
    before(BASE, 'regions:\n  - { id: us-east', '  - { name: sub, type: NS, value: ns.example.net. }\n') +
      `  - { name: www.sub, type: A, policy: { pool: east } }\n`,
    e('MRD_ERR_POLICY_CONFLICT', 'name: www.sub', 'conflicts with the delegation at "sub.lb.example.org"'),
  ),
  bad(
    'policy record beside a static A of the same name → MRD_ERR_POLICY_CONFLICT at the policy record',
    addPolicies(BASE, `  - name: static\n    type: A\n    policy: { pool: east }\n`),
    e('MRD_ERR_POLICY_CONFLICT', '  - name: static', 'conflicts with a static A RRset at the same name'),
  ),
  bad(
    'CNAME policy record beside a static TXT → MRD_ERR_POLICY_CONFLICT at the policy record',
    addPolicies(BASE, `  - { name: txt, type: CNAME, policy: { pool: cdn } }\n`),
    e('MRD_ERR_POLICY_CONFLICT', 'name: txt, type: CNAME', 'conflicts with other data at the same name (a CNAME must be alone'),
  ),
  bad(
    'A policy record beside a CNAME policy record → MRD_ERR_POLICY_CONFLICT at the later record',
    addPolicies(BASE, `  - { name: cdn, type: A, policy: { pool: east } }\n`),
    e('MRD_ERR_POLICY_CONFLICT', 'name: cdn, type: A', 'conflicts with a CNAME policy record at the same name'),
  ),
  bad(
    'policy record beside a static CNAME → MRD_ERR_POLICY_CONFLICT at the policy record',
    before(BASE, 'regions:\n  - { id: us-east', '  - { name: alias, type: CNAME, value: www }\n') +
      `  - { name: alias, type: AAAA, policy: { pool: v6only } }\n`,
    e('MRD_ERR_POLICY_CONFLICT', 'name: alias, type: AAAA', 'conflicts with a static CNAME at the same name'),
  ),
  bad(
    'policy record type MX → MRD_ERR_ZONE_SCHEMA at the type line',
    addPolicies(BASE, `  - name: mail\n    type: MX\n    policy: { pool: east }\n`),
    e('MRD_ERR_ZONE_SCHEMA', 'type: MX', 'policies[5].type: must be A, AAAA or CNAME'),
  ),
];

describe('policy compilation: each mistake is refused with its code, line and reason', () => {
  it('the base zone is valid', () => {
    const r = load(BASE);
    expect(r.ok ? [] : r.errors.map((x) => x.format())).toEqual([]);
  });

  it.each(CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const r = load(c.zone);
    // Not half-loaded: no zone at all, only the problems.
    expect(r.ok).toBe(false);
    expect('zone' in r).toBe(false);
    const errors = errorsOf(c.zone);
    const got = errors.map((x) => ({ code: x.code, line: x.line, message: x.message }));
    const want = c.errors.map((w) => ({ code: w.code, line: lineOf(c.zone, w.at), message: expect.stringContaining(w.message) }));
    expect(got).toEqual(expect.arrayContaining(want));
    expect(got).toHaveLength(want.length);
    for (const x of errors) {
      expect(x.file).toBe(FILE);
      expect(x.format().startsWith(`${FILE}:${x.line}: `)).toBe(true);
    }
  });
});

describe('a zone with several independent mistakes', () => {
  let zone = BASE;
  zone = swap(zone, '- pool: west', '- pool: nope');
  zone = swap(zone, 'country: IE', 'country: XX');
  zone = swap(zone, 'address: 203.0.113.10', 'address: 203.0.113.300');
  zone = swap(zone, '- 10.0.0.0/8', '- 10.0.0.1/8');
  zone = swap(zone, 'default: { use: api }', 'default: { use: ghost }');
  zone = addPolicies(zone, `  - { name: "@", type: A, policy: { pool: east } }\n`);

  it('is refused whole, and every mistake is reported at its own line', () => {
    const r = load(zone);
    expect(r.ok).toBe(false);
    expect('zone' in r).toBe(false);
    const got = errorsOf(zone).map((x) => [x.code, x.line]);
    expect(got).toEqual(
      expect.arrayContaining([
        ['MRD_ERR_POLICY_LOCATION', lineOf(zone, 'country: XX')],
        ['MRD_ERR_POLICY_ADDRESS', lineOf(zone, '203.0.113.300')],
        ['MRD_ERR_POLICY_REFERENCE', lineOf(zone, 'pool: nope')],
        ['MRD_ERR_POLICY_NETWORK', lineOf(zone, '10.0.0.1/8')],
        ['MRD_ERR_POLICY_REFERENCE', lineOf(zone, 'use: ghost')],
      ]),
    );
    // Six distinct lines (the apex record is refused by zone.ts only once the policies compile;
    // policy/compile.ts problems alone are enough to refuse the zone).
    expect(new Set(got.map(([, line]) => line)).size).toBe(got.length);
  });
});

// ---- good zones ----------------------------------------------------------------------------------

describe('good zones load', () => {
  it('the shipped zones/gslb.example.org.yaml compiles, and `use:` resolves to the used tree', () => {
    const file = path.resolve(import.meta.dirname, '../../zones/gslb.example.org.yaml');
    const r = loadZoneText(fs.readFileSync(file, 'utf8'), file);
    expect(r.ok ? [] : r.errors.map((x) => x.format())).toEqual([]);
    if (!r.ok) return;
    const policies = r.zone.policies!;
    expect(policies.records).toHaveLength(9);
    expect(policies.regions.size).toBe(5);
    expect(policies.pools.size).toBe(7);
    const rec = (owner: string, rrtype: number = RRType.A) => policies.records.find((x) => x.owner === owner && x.rrtype === rrtype)!;
    expect(rec('app.gslb.example.org', RRType.AAAA)).toBeDefined();
    const api = rec('api.gslb.example.org');
    const intranet = rec('intranet.gslb.example.org');
    expect(intranet.tree.kind).toBe('cidr');
    // intranet's default is api's tree, compiled again for intranet: the same geo tree and endpoints.
    const fallback = (intranet.tree as unknown as { fallback: PolicyNode | null }).fallback!;
    expect(fallback.kind).toBe('geo');
    expect(fallback.endpoints.map((x) => x.key).sort()).toEqual(api.tree.endpoints.map((x) => x.key).sort());
    expect(intranet.onAllDown).toEqual({ kind: 'serve_none' });
    expect(api.ttlSeconds).toBe(20);
    // The policy record is at the line of its list item.
    expect(intranet.at.line).toBe(lineOf(fs.readFileSync(file, 'utf8'), 'name: intranet'));
    expect(r.zone.nodes.get('intranet.gslb.example.org')?.policies?.get(RRType.A)).toBe(intranet);
  });

  it('a policy record on a wildcard name (*.lb) loads', () => {
    const r = load(addPolicies(BASE, `  - { name: "*.lb", type: A, policy: { pool: east } }\n`));
    expect(r.ok ? [] : r.errors.map((x) => x.format())).toEqual([]);
    if (!r.ok) return;
    expect(r.zone.hasWildcards).toBe(true);
    expect(r.zone.nodes.get('*.lb.lb.example.org')?.policies?.get(RRType.A)?.tree.kind).toBe('pool');
  });

  it('A and AAAA policy records on the same name load', () => {
    const r = load(addPolicies(BASE, `  - { name: dual, type: A, policy: { pool: east } }\n  - { name: dual, type: AAAA, policy: { pool: v6only } }\n`));
    expect(r.ok ? [] : r.errors.map((x) => x.format())).toEqual([]);
    if (!r.ok) return;
    const node = r.zone.nodes.get('dual.lb.example.org')!;
    expect([...node.policies!.keys()].sort()).toEqual([RRType.A, RRType.AAAA]);
  });

  it('a policy record beside a static TXT at the same name loads', () => {
    const r = load(addPolicies(BASE, `  - { name: txt, type: A, policy: { pool: east } }\n`));
    expect(r.ok ? [] : r.errors.map((x) => x.format())).toEqual([]);
    if (!r.ok) return;
    const node = r.zone.nodes.get('txt.lb.example.org')!;
    expect(node.rrsets.has(RRType.TXT)).toBe(true);
    expect(node.policies?.get(RRType.A)).toBeDefined();
  });

  it('a dual-stack pool answers each type with its own family only', () => {
    const zone = swap(
      BASE,
      '      - { address: "2001:db8::1", region: us-east }\n',
      '      - { address: "2001:db8::1", region: us-east }\n      - { address: 192.0.2.66, region: us-east }\n',
    );
    const r = load(addPolicies(zone, `  - { name: four, type: A, policy: { pool: v6only } }\n`));
    expect(r.ok ? [] : r.errors.map((x) => x.format())).toEqual([]);
    if (!r.ok) return;
    const four = r.zone.policies!.records.find((x) => x.owner === 'four.lb.example.org')!;
    expect(four.tree.endpoints.map((x) => x.value)).toEqual(['192.0.2.66']);
  });

  it('the same location in two different geo trees is fine', () => {
    const r = load(
      addPolicies(BASE, `  - { name: g2, type: A, policy: { geo: { branches: [ { match: { continents: [EU] }, policy: { pool: west } } ] } } }\n`),
    );
    expect(r.ok ? [] : r.errors.map((x) => x.format())).toEqual([]);
  });
});
