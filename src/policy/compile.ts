/**
 * @module policy/compile
 * Turns the regions, pools, policy records and latency rows of a YAML zone into the compiled
 * model of policy/types.ts, checking everything a schema cannot: references to pools, regions
 * and records; `use` loops; country, continent and subdivision codes; networks; duplicates;
 * pools that cannot answer the record's type. Every problem carries the path of the value at
 * fault, which zone/yaml-zone.ts turns into a line. A zone with any problem is not loaded, so a
 * policy is never half-compiled.
 */
import { isIP } from 'node:net';
import type { CodedArgs, ErrorArgs, ErrorCode } from '../errors.js';
import { NameError, keyToWire, presentationToKey } from '../dns/name.js';
import { RRType, typeFromName } from '../dns/types.js';
import { NODE_SCHEMAS, type LatencyRowEntry, type PolicyRecordEntry, type PoolEntry, type RegionEntry } from '../model/policy-schema.js';
import { formatPath, validateAgainst, type PathSegment } from '../model/zone-schema.js';
import { MAX_TTL, parseTtlUnits } from '../zone/rdata.js';
import { addressBytes } from './client.js';
import { seedOf } from './common.js';
import { CidrNode } from './cidr.js';
import { FailoverNode } from './failover.js';
import { GeoNode, type GeoBranch } from './geo.js';
import { continentOf, isContinent, loadGeoip } from './geoip.js';
import { LatencyNode } from './latency.js';
import { LatencyTable, LatencyTableError } from './latency-table.js';
import { MultivalueNode, DEFAULT_MULTIVALUE_MAX } from './multivalue.js';
import { PoolNode } from './pool.js';
import { PrefixTable } from './prefix-table.js';
import { DEFAULT_STICKY, WeightedChildrenNode, WeightedPoolNode, type Sticky } from './weighted.js';
import type { AllDown, Endpoint, PolicyNode, PolicyRecord, Pool, Region } from './types.js';
import { compileChecks, type CheckPlan } from '../health/config.js';
import type { CheckEntry } from '../model/health-schema.js';

/** The TTL of policy answers when the record gives none: short, so changes reach clients soon. */
export const DEFAULT_POLICY_TTL = 30;

export interface PolicyInput {
  regions?: RegionEntry[] | undefined;
  pools?: PoolEntry[] | undefined;
  policies?: PolicyRecordEntry[] | undefined;
  latency?: LatencyRowEntry[] | undefined;
  checks?: CheckEntry[] | undefined;
}

/** A problem found while compiling: a code with its arguments (errors.ts), and where. */
export type PolicyProblem = CodedArgs & { readonly path: PathSegment[] };

/** What a zone's load-balancing section compiles to. */
export interface CompiledPolicies {
  readonly regions: ReadonlyMap<string, Region>;
  readonly pools: ReadonlyMap<string, Pool>;
  readonly records: readonly PolicyRecord[];
  readonly latency: LatencyTable | null;
  /** Health checks by id. */
  readonly checks: ReadonlyMap<string, CheckPlan>;
}

export interface CompileOptions {
  readonly origin: string;
  readonly file: string;
  /** Line of the value at a path (for {@link PolicyRecord.at}). */
  readonly lineOf: (path: PathSegment[]) => number;
  /** True when the schema already reported a problem at or around a path (skip it). */
  readonly isBad: (path: PathSegment[]) => boolean;
}

type Json = Record<string, unknown>;

class Compiler {
  readonly problems: PolicyProblem[] = [];
  readonly regions = new Map<string, Region>();
  readonly pools = new Map<string, Pool>();
  readonly records: PolicyRecord[] = [];
  latency: LatencyTable | null = null;
  checks = new Map<string, CheckPlan>();
  #needsGeoip = false;
  /** Raw record entries by owner key, for `use`. */
  #byName = new Map<string, { entry: PolicyRecordEntry; index: number }>();
  /** Owner keys of every policy record written, good or bad (a bad one was reported already). */
  #written = new Set<string>();

  constructor(
    private readonly input: PolicyInput,
    private readonly opts: CompileOptions,
  ) {}

  fail<C extends ErrorCode>(code: C, path: PathSegment[], ...args: ErrorArgs<C>): void {
    // A tree reached through `use` is compiled again for each record that uses it: say its problems once.
    const same = (p: PolicyProblem) => p.code === code && formatPath(p.path) === formatPath(path) && JSON.stringify(p.args) === JSON.stringify(args);
    if (this.problems.some(same)) return;
    this.problems.push({ code, path, args } as PolicyProblem);
  }

  /** True when a region of this id is written in the zone (it may have been bad, and reported). */
  private regionDefined(id: string): boolean {
    return (this.input.regions ?? []).some((r) => r?.id === id);
  }

  run(): CompiledPolicies {
    const { plans, problems } = compileChecks(this.input.checks ?? [], this.opts.isBad);
    this.checks = plans;
    this.problems.push(...problems);
    this.compileRegions();
    this.compilePools();
    this.compileLatency();
    this.compileRecords();
    if (this.#needsGeoip && this.problems.length === 0) loadGeoip();
    return { regions: this.regions, pools: this.pools, records: this.records, latency: this.latency, checks: this.checks };
  }

  private compileRegions(): void {
    (this.input.regions ?? []).forEach((r, i) => {
      const path: PathSegment[] = ['regions', i];
      if (this.opts.isBad(path)) return;
      if (this.regions.has(r.id)) return this.fail('MRD_ERR_POLICY_DUPLICATE', [...path, 'id'], formatPath([...path, 'id']), `region "${r.id}" is defined twice`);
      const country = r.country.toUpperCase();
      const continent = continentOf(country);
      if (!continent) return this.fail('MRD_ERR_POLICY_LOCATION', [...path, 'country'], formatPath([...path, 'country']), r.country, 'an ISO 3166-1 alpha-2 country code');
      this.regions.set(r.id, { id: r.id, name: r.name ?? r.id, lat: r.location.lat, lon: r.location.lon, country, continent: r.continent ?? continent });
    });
  }

  private compilePools(): void {
    (this.input.pools ?? []).forEach((p, i) => {
      const path: PathSegment[] = ['pools', i];
      if (this.opts.isBad(path)) return;
      if (this.pools.has(p.id)) return this.fail('MRD_ERR_POLICY_DUPLICATE', [...path, 'id'], formatPath([...path, 'id']), `pool "${p.id}" is defined twice`);
      const endpoints: Endpoint[] = [];
      const ids = new Set<string>();
      const problemsBefore = this.problems.length;
      p.endpoints.forEach((e, j) => {
        const ep = [...path, 'endpoints', j];
        const value = e.address ?? e.hostname ?? '';
        const id = e.id ?? value.toLowerCase();
        if (ids.has(id)) return this.fail('MRD_ERR_POLICY_DUPLICATE', ep, formatPath(ep), `endpoint id "${id}" appears twice in pool "${p.id}"`);
        ids.add(id);
        if (!this.regions.has(e.region) && !this.regionDefined(e.region)) this.fail('MRD_ERR_POLICY_REFERENCE', [...ep, 'region'], formatPath([...ep, 'region']), 'region', e.region);
        let rrtype: number;
        let rdata: Buffer;
        if (e.address !== undefined) {
          const parsed = isIP(e.address) ? addressBytes(e.address) : null;
          if (!parsed) return this.fail('MRD_ERR_POLICY_ADDRESS', [...ep, 'address'], formatPath([...ep, 'address']), e.address);
          rrtype = parsed.family === 4 ? RRType.A : RRType.AAAA;
          rdata = Buffer.from(parsed.bytes.subarray(0, parsed.family === 4 ? 4 : 16));
        } else {
          try {
            rdata = keyToWire(presentationToKey(e.hostname!.endsWith('.') ? e.hostname! : `${e.hostname}.`, null));
          } catch (err) {
            if (!(err instanceof NameError)) throw err;
            return this.fail('MRD_ERR_ZONE_NAME', [...ep, 'hostname'], `${formatPath([...ep, 'hostname'])}: ${err.message}`);
          }
          rrtype = RRType.CNAME;
        }
        const key = `${p.id}/${id}`;
        const checkId = e.check ?? p.check;
        const checkPath = e.check !== undefined ? [...ep, 'check'] : [...path, 'check'];
        let check: CheckPlan | null = null;
        if (checkId !== undefined && checkId !== 'none') {
          check = this.checks.get(checkId) ?? null;
          const defined = (this.input.checks ?? []).some((c) => c?.id === checkId);
          if (!check && !defined) this.fail('MRD_ERR_POLICY_REFERENCE', checkPath, formatPath(checkPath), 'check', checkId);
        }
        endpoints.push({ key, pool: p.id, id, region: e.region, weight: e.weight ?? 1, rrtype, rdata, value, seed: seedOf(key), check });
      });
      // A pool with a bad endpoint was reported; its users then say nothing more about it.
      if (this.problems.length === problemsBefore) this.pools.set(p.id, { id: p.id, endpoints });
    });
  }

  private compileLatency(): void {
    const rows = this.input.latency;
    if (!rows || rows.length === 0) return;
    let good = true;
    rows.forEach((row, i) => {
      if (this.opts.isBad(['latency', i])) return void (good = false);
      for (const region of Object.keys(row.rtt_ms)) {
        if (!this.regions.has(region)) {
          good = false;
          if (!this.regionDefined(region)) this.fail('MRD_ERR_POLICY_REFERENCE', ['latency', i, 'rtt_ms', region], formatPath(['latency', i, 'rtt_ms']), 'region', region);
        }
      }
      if (/^[A-Za-z]{2}$/.test(row.from) && !continentOf(row.from.toUpperCase())) {
        good = false;
        this.fail('MRD_ERR_POLICY_LOCATION', ['latency', i, 'from'], formatPath(['latency', i, 'from']), row.from, 'an ISO 3166-1 alpha-2 country code');
      }
    });
    if (!good || this.opts.isBad(['latency'])) return;
    try {
      this.latency = new LatencyTable(rows.map((r) => ({ from: r.from, rtt: r.rtt_ms })));
      this.#needsGeoip = true;
    } catch (err) {
      const row = err instanceof LatencyTableError ? Math.max(0, err.row) : 0;
      this.fail('MRD_ERR_POLICY_NETWORK', ['latency', row, 'from'], formatPath(['latency', row, 'from']), (err as Error).message);
    }
  }

  private compileRecords(): void {
    const entries = this.input.policies ?? [];
    const owners: (string | undefined)[] = entries.map((r, i) => {
      const path: PathSegment[] = ['policies', i];
      if (this.opts.isBad(path)) {
        try {
          if (typeof r?.name === 'string') this.#written.add(presentationToKey(r.name, this.opts.origin));
        } catch {
          // A bad name: reported by the schema, or below.
        }
        return undefined;
      }
      try {
        const owner = presentationToKey(r.name, this.opts.origin);
        this.#written.add(owner);
        return owner;
      } catch (err) {
        if (!(err instanceof NameError)) throw err;
        this.fail('MRD_ERR_ZONE_NAME', [...path, 'name'], `${formatPath([...path, 'name'])}: ${err.message}`);
        return undefined;
      }
    });
    entries.forEach((r, i) => {
      const owner = owners[i];
      if (owner === undefined) return;
      const type = r.type.toUpperCase();
      const key = `${owner}|${type}`;
      if (this.#byName.has(key)) {
        return this.fail('MRD_ERR_POLICY_DUPLICATE', ['policies', i, 'name'], formatPath(['policies', i, 'name']), `a ${type} policy record named "${r.name}" is already defined`);
      }
      this.#byName.set(key, { entry: r, index: i });
      if (!this.#byName.has(owner)) this.#byName.set(owner, { entry: r, index: i });
    });
    entries.forEach((r, i) => {
      const owner = owners[i];
      if (owner === undefined || this.#byName.get(`${owner}|${r.type.toUpperCase()}`)?.index !== i) return;
      const path: PathSegment[] = ['policies', i];
      const rrtype = typeFromName(r.type.toUpperCase())!;
      const ttl = r.ttl === undefined ? DEFAULT_POLICY_TTL : typeof r.ttl === 'number' ? r.ttl : parseTtlUnits(r.ttl);
      if (ttl === undefined) return this.fail('MRD_ERR_ZONE_TTL', [...path, 'ttl'], `${formatPath([...path, 'ttl'])}: "${r.ttl}" is not a duration`);
      if (ttl > MAX_TTL) return this.fail('MRD_ERR_ZONE_TTL', [...path, 'ttl'], `${formatPath([...path, 'ttl'])}: must be from 0 to ${MAX_TTL} seconds (RFC 2181 §8), not ${r.ttl} (${ttl} seconds)`);
      const tree = this.node(r.policy, [...path, 'policy'], rrtype, [r.name]);
      const onAllDown = this.allDown(r, path, rrtype);
      if (!tree || !onAllDown) return;
      this.records.push({ owner, rrtype, ttlSeconds: ttl, tree, onAllDown, at: { file: this.opts.file, line: this.opts.lineOf(path) } });
    });
  }

  private allDown(r: PolicyRecordEntry, path: PathSegment[], rrtype: number): AllDown | null {
    const s = r.on_all_down;
    if (s === undefined || s === 'serve_all') return { kind: 'serve_all' };
    if (s === 'serve_none') return { kind: 'serve_none' };
    const at = [...path, 'on_all_down', 'pool'];
    const endpoints = this.poolEndpoints(s.pool, at, rrtype);
    return endpoints ? { kind: 'pool', pool: { id: s.pool, endpoints } } : null;
  }

  /** The endpoints of a pool that can answer `rrtype`, or null after reporting why not. */
  private poolEndpoints(id: string, path: PathSegment[], rrtype: number): Endpoint[] | null {
    const pool = this.pools.get(id);
    if (!pool) {
      if (!(this.input.pools ?? []).some((p) => p?.id === id)) this.fail('MRD_ERR_POLICY_REFERENCE', path, formatPath(path), 'pool', id);
      return null;
    }
    const fits = pool.endpoints.filter((e) => e.rrtype === RRType.CNAME || (e.rrtype === rrtype && rrtype !== RRType.CNAME));
    if (fits.length === 0) {
      const need = rrtype === RRType.A ? 'IPv4 addresses or hostnames' : rrtype === RRType.AAAA ? 'IPv6 addresses or hostnames' : 'hostnames';
      this.fail('MRD_ERR_POLICY_NO_ENDPOINTS', path, formatPath(path), id, rrtype === RRType.A ? 'A' : rrtype === RRType.AAAA ? 'AAAA' : 'CNAME', `needs ${need}`);
      return null;
    }
    return fits;
  }

  /** Compiles one node; null after reporting its problems (children are still checked). */
  private node(raw: unknown, path: PathSegment[], rrtype: number, stack: string[]): PolicyNode | null {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw) || Object.keys(raw).length !== 1) {
      this.fail('MRD_ERR_ZONE_SCHEMA', path, `${formatPath(path)}: must be a policy: a map with exactly one of ${Object.keys(NODE_SCHEMAS).join(', ')}`);
      return null;
    }
    const [kind, value] = Object.entries(raw as Json)[0]!;
    const at = [...path, kind];
    const schema = NODE_SCHEMAS[kind];
    if (!schema) {
      this.fail('MRD_ERR_ZONE_SCHEMA', path, `${formatPath(path)}: unknown policy "${kind}" (one of ${Object.keys(NODE_SCHEMAS).join(', ')})`);
      return null;
    }
    const problems = validateAgainst(schema, value);
    if (problems.length > 0) {
      for (const p of problems) {
        const rel = formatPath(p.path);
        const reason = rel && p.message.startsWith(`${rel}: `) ? p.message.slice(rel.length + 2) : p.message;
        const full = [...at, ...p.path];
        // An unknown field is pointed at by its own line (the node may span several).
        this.fail('MRD_ERR_ZONE_SCHEMA', p.kind === 'unknown' && p.key !== undefined ? [...full, p.key] : full, `${formatPath(full)}: ${reason}`);
      }
      return null;
    }
    const v = value as Json;
    switch (kind) {
      case 'pool': {
        const eps = this.poolEndpoints(value as string, at, rrtype);
        return eps && new PoolNode(value as string, eps);
      }
      case 'use':
        return this.use(value as string, at, rrtype, stack);
      case 'weighted':
        return this.weighted(v, at, rrtype, stack);
      case 'multivalue': {
        const eps = this.poolEndpoints(v['pool'] as string, [...at, 'pool'], rrtype);
        return eps && new MultivalueNode(v['pool'] as string, eps, (v['max'] as number | undefined) ?? DEFAULT_MULTIVALUE_MAX);
      }
      case 'failover': {
        const tiers = (v['tiers'] as unknown[]).map((t, i) => this.node(t, [...at, 'tiers', i], rrtype, stack));
        return tiers.every((t) => t) ? new FailoverNode(tiers as PolicyNode[], (v['min_healthy'] as number | undefined) ?? 1) : null;
      }
      case 'geo':
        return this.geo(v, at, rrtype, stack);
      case 'latency':
        return this.latencyNode(v, at, rrtype, stack);
      case 'cidr':
        return this.cidr(v, at, rrtype, stack);
    }
    return null;
  }

  private use(name: string, at: PathSegment[], rrtype: number, stack: string[]): PolicyNode | null {
    let owner: string;
    try {
      owner = presentationToKey(name, this.opts.origin);
    } catch {
      this.fail('MRD_ERR_POLICY_REFERENCE', at, formatPath(at), 'policy record', name);
      return null;
    }
    const typeName = rrtype === RRType.A ? 'A' : rrtype === RRType.AAAA ? 'AAAA' : 'CNAME';
    const target = this.#byName.get(`${owner}|${typeName}`) ?? this.#byName.get(owner);
    if (!target) {
      if (!this.#written.has(owner)) this.fail('MRD_ERR_POLICY_REFERENCE', at, formatPath(at), 'policy record', name);
      return null;
    }
    if (stack.includes(target.entry.name)) {
      this.fail('MRD_ERR_POLICY_CYCLE', at, [...stack, target.entry.name].join(' → '));
      return null;
    }
    return this.node(target.entry.policy, ['policies', target.index, 'policy'], rrtype, [...stack, target.entry.name]);
  }

  private sticky(v: Json): Sticky | null {
    if (v['sticky'] !== true) return null;
    return { v4: (v['sticky_prefix_v4'] as number | undefined) ?? DEFAULT_STICKY.v4, v6: (v['sticky_prefix_v6'] as number | undefined) ?? DEFAULT_STICKY.v6 };
  }

  private weighted(v: Json, at: PathSegment[], rrtype: number, stack: string[]): PolicyNode | null {
    if (typeof v['pool'] === 'string') {
      const eps = this.poolEndpoints(v['pool'], [...at, 'pool'], rrtype);
      return eps && new WeightedPoolNode(v['pool'], eps, this.sticky(v));
    }
    const children = (v['children'] as { weight: number; policy: unknown }[]).map((c, i) => {
      const node = this.node(c.policy, [...at, 'children', i, 'policy'], rrtype, stack);
      return node && { weight: c.weight, node, seed: seedOf(`${formatPath(at)}#${i}`) };
    });
    return children.every((c) => c) ? new WeightedChildrenNode(children as { weight: number; node: PolicyNode; seed: number }[], this.sticky(v)) : null;
  }

  private geo(v: Json, at: PathSegment[], rrtype: number, stack: string[]): PolicyNode | null {
    this.#needsGeoip = true;
    const subdivisions = new Map<string, GeoBranch>();
    const countries = new Map<string, GeoBranch>();
    const continents = new Map<string, GeoBranch>();
    const branches: GeoBranch[] = [];
    const raw = v['branches'] as { match: { subdivisions?: string[]; countries?: string[]; continents?: string[] }; policy: unknown }[];
    let ok = true;
    raw.forEach((b, i) => {
      const node = this.node(b.policy, [...at, 'branches', i, 'policy'], rrtype, stack);
      const label = `branch ${[...(b.match.subdivisions ?? []), ...(b.match.countries ?? []), ...(b.match.continents ?? [])].join(',')}`;
      const branch = node ? { label, node } : null;
      if (branch) branches.push(branch);
      else ok = false;
      const add = (map: Map<string, GeoBranch>, list: string[] | undefined, field: string, check: (c: string) => boolean, what: string): void => {
        (list ?? []).forEach((code, j) => {
          const p = [...at, 'branches', i, 'match', field, j];
          const c = code.toUpperCase();
          if (!check(c)) {
            ok = false;
            return this.fail('MRD_ERR_POLICY_LOCATION', p, formatPath(p), code, what);
          }
          if (map.has(c)) {
            ok = false;
            return this.fail('MRD_ERR_POLICY_DUPLICATE', p, formatPath(p), `${c} is already matched by an earlier branch`);
          }
          if (branch) map.set(c, branch);
        });
      };
      add(subdivisions, b.match.subdivisions, 'subdivisions', (c) => /^[A-Z]{2}-[A-Z0-9]{1,3}$/.test(c) && continentOf(c.slice(0, 2)) !== undefined, 'an ISO 3166-2 subdivision code such as US-CA');
      add(countries, b.match.countries, 'countries', (c) => /^[A-Z]{2}$/.test(c) && continentOf(c) !== undefined, 'an ISO 3166-1 alpha-2 country code');
      add(continents, b.match.continents, 'continents', isContinent, 'a continent code (AF AN AS EU NA OC SA)');
    });
    let fallback: GeoBranch | null = null;
    if (v['default'] !== undefined) {
      const node = this.node(v['default'], [...at, 'default'], rrtype, stack);
      if (node) {
        fallback = { label: 'default', node };
        branches.push(fallback);
      } else ok = false;
    }
    if (!ok) return null;
    const d = JSON.stringify(v['default']);
    const same = fallback !== null && raw.every((b) => JSON.stringify(b.policy) === d);
    return new GeoNode(subdivisions, countries, continents, fallback, same, branches);
  }

  private latencyNode(v: Json, at: PathSegment[], rrtype: number, stack: string[]): PolicyNode | null {
    this.#needsGeoip = true;
    const seen = new Set<string>();
    let ok = true;
    const targets = (v['regions'] as { region: string; policy: unknown }[]).map((t, i) => {
      const p = [...at, 'regions', i];
      const region = this.regions.get(t.region);
      if (!region) {
        ok = false;
        if (!this.regionDefined(t.region)) this.fail('MRD_ERR_POLICY_REFERENCE', [...p, 'region'], formatPath([...p, 'region']), 'region', t.region);
      } else if (seen.has(t.region)) {
        ok = false;
        this.fail('MRD_ERR_POLICY_DUPLICATE', [...p, 'region'], formatPath([...p, 'region']), `region "${t.region}" is listed twice`);
      }
      seen.add(t.region);
      const node = this.node(t.policy, [...p, 'policy'], rrtype, stack);
      if (!node) ok = false;
      return { region: region!, node: node! };
    });
    return ok ? new LatencyNode(targets, (v['tolerance_ms'] as number | undefined) ?? 0) : null;
  }

  private cidr(v: Json, at: PathSegment[], rrtype: number, stack: string[]): PolicyNode | null {
    let ok = true;
    const entries: { network: string; value: PolicyNode }[] = [];
    const children: PolicyNode[] = [];
    (v['routes'] as { networks: string[]; policy: unknown }[]).forEach((r, i) => {
      const node = this.node(r.policy, [...at, 'routes', i, 'policy'], rrtype, stack);
      if (!node) ok = false;
      else children.push(node);
      r.networks.forEach((n, j) => {
        const p = [...at, 'routes', i, 'networks', j];
        try {
          new PrefixTable([...entries, { network: n, value: node! }]);
          entries.push({ network: n, value: node! });
        } catch (err) {
          ok = false;
          this.fail('MRD_ERR_POLICY_NETWORK', p, formatPath(p), (err as Error).message);
        }
      });
    });
    let fallback: PolicyNode | null = null;
    if (v['default'] !== undefined) {
      fallback = this.node(v['default'], [...at, 'default'], rrtype, stack);
      if (!fallback) ok = false;
      else children.push(fallback);
    }
    return ok ? new CidrNode(new PrefixTable(entries), fallback, children) : null;
  }
}

/** Compiles a zone's load-balancing section; `problems` is empty when it is all good. */
export function compilePolicies(input: PolicyInput, opts: CompileOptions): { compiled: CompiledPolicies; problems: PolicyProblem[] } {
  // A section that is not a list was reported by the schema; compile the others.
  const list = <T>(v: T[] | undefined): T[] | undefined => (Array.isArray(v) ? v : undefined);
  const sections = { regions: list(input.regions), pools: list(input.pools), policies: list(input.policies), latency: list(input.latency), checks: list(input.checks) };
  const c = new Compiler(sections, opts);
  const compiled = c.run();
  return { compiled, problems: c.problems };
}
