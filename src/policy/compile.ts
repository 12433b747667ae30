/**
 * @module policy/compile
 * Turns the regions, pools, policy records and latency rows of a YAML zone into the compiled
 * model of policy/types.ts, checking everything a schema cannot: references to pools, regions
 * and records; `use` loops; duplicates; pools that cannot answer the record's type. Every
 * problem carries the path of the value at fault, which zone/yaml-zone.ts turns into a line. A
 * zone with any problem is not loaded, so a policy is never half-compiled.
 *
 * This is the shared walk only: the shape of a node (a map with one key), its kind's schema,
 * `use` references and their loops, pool lookup and the problems' paths. What a node of each kind
 * means (its options, country codes, networks, and the node it compiles to) is its kind's module
 * (policy/kinds/, listed in policy/registry.ts), reached through a {@link KindCompiler}.
 */
import { isIP } from 'node:net';
import type { CodedArgs, ErrorArgs, ErrorCode } from '../errors.js';
import { NameError, keyToWire, presentationToKey } from '../proto/name.js';
import { RRType, typeFromName } from '../proto/types.js';
import { NODE_SCHEMAS, type LatencyRowEntry, type PolicyRecordEntry, type PoolEntry, type RegionEntry } from './schema.js';
import { formatPath, validateAgainst, type PathSegment } from '../validation/validate.js';
import { MAX_TTL, TTL_DURATION, durationValue } from '../proto/duration.js';
import { addressBytes } from './client.js';
import { seedOf } from './common.js';
import { continentOf, loadGeoip } from './geoip.js';
import { LatencyTable, LatencyTableError } from './latency-table.js';
import { policyKind } from './registry.js';
import type { AllDown, Endpoint, KindCompiler, PolicyNode, PolicyRecord, Pool, Region } from './types.js';
import { compileChecks, type CheckPlan } from '../checks/config.js';
import type { CheckEntry } from '../checks/schema.js';

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
      if (this.regions.has(r.id))
        return this.fail('MRD_ERR_POLICY_DUPLICATE', [...path, 'id'], formatPath([...path, 'id']), `region "${r.id}" is defined twice`);
      const country = r.country.toUpperCase();
      const continent = continentOf(country);
      if (!continent)
        return this.fail('MRD_ERR_POLICY_LOCATION', [...path, 'country'], formatPath([...path, 'country']), r.country, 'an ISO 3166-1 alpha-2 country code');
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
        if (!this.regions.has(e.region) && !this.regionDefined(e.region))
          this.fail('MRD_ERR_POLICY_REFERENCE', [...ep, 'region'], formatPath([...ep, 'region']), 'region', e.region);
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
          if (!this.regionDefined(region))
            this.fail('MRD_ERR_POLICY_REFERENCE', ['latency', i, 'rtt_ms', region], formatPath(['latency', i, 'rtt_ms']), 'region', region);
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
        return this.fail(
          'MRD_ERR_POLICY_DUPLICATE',
          ['policies', i, 'name'],
          formatPath(['policies', i, 'name']),
          `a ${type} policy record named "${r.name}" is already defined`,
        );
      }
      this.#byName.set(key, { entry: r, index: i });
      if (!this.#byName.has(owner)) this.#byName.set(owner, { entry: r, index: i });
    });
    entries.forEach((r, i) => {
      const owner = owners[i];
      if (owner === undefined || this.#byName.get(`${owner}|${r.type.toUpperCase()}`)?.index !== i) return;
      const path: PathSegment[] = ['policies', i];
      const rrtype = typeFromName(r.type.toUpperCase())!;
      const ttl = r.ttl === undefined ? DEFAULT_POLICY_TTL : durationValue(TTL_DURATION, r.ttl);
      if (ttl === undefined) return this.fail('MRD_ERR_ZONE_TTL', [...path, 'ttl'], `${formatPath([...path, 'ttl'])}: "${r.ttl}" is not a duration`);
      if (ttl > MAX_TTL)
        return this.fail(
          'MRD_ERR_ZONE_TTL',
          [...path, 'ttl'],
          `${formatPath([...path, 'ttl'])}: must be from 0 to ${MAX_TTL} seconds (RFC 2181 §8), not ${r.ttl} (${ttl} seconds)`,
        );
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
      this.fail(
        'MRD_ERR_POLICY_NO_ENDPOINTS',
        path,
        formatPath(path),
        id,
        rrtype === RRType.A ? 'A' : rrtype === RRType.AAAA ? 'AAAA' : 'CNAME',
        `needs ${need}`,
      );
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
    const [name, value] = Object.entries(raw as Json)[0]!;
    const at = [...path, name];
    const kind = policyKind(name);
    const schema = NODE_SCHEMAS[name];
    if (!kind || !schema) {
      this.fail('MRD_ERR_ZONE_SCHEMA', path, `${formatPath(path)}: unknown policy "${name}" (one of ${Object.keys(NODE_SCHEMAS).join(', ')})`);
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
    return kind.compile(value as never, at, this.kit(rrtype, stack));
  }

  /** What a kind's compile step may do, for one node: compile children under the same record. */
  private kit(rrtype: number, stack: string[]): KindCompiler {
    return {
      rrtype,
      node: (raw, path) => this.node(raw, path, rrtype, stack),
      use: (name, path) => this.use(name, path, rrtype, stack),
      poolEndpoints: (id, path) => this.poolEndpoints(id, path, rrtype),
      region: (id) => this.regions.get(id),
      regions: () => this.regions,
      regionDefined: (id) => this.regionDefined(id),
      fail: (code, path, ...args) => this.fail(code, path, ...args),
      pathText: formatPath,
      needsGeoip: () => {
        this.#needsGeoip = true;
      },
    };
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
}

/** Compiles a zone's load-balancing section; `problems` is empty when it is all good. */
export function compilePolicies(input: PolicyInput, opts: CompileOptions): { compiled: CompiledPolicies; problems: PolicyProblem[] } {
  // A section that is not a list was reported by the schema; compile the others.
  const list = <T>(v: T[] | undefined): T[] | undefined => (Array.isArray(v) ? v : undefined);
  const sections = {
    regions: list(input.regions),
    pools: list(input.pools),
    policies: list(input.policies),
    latency: list(input.latency),
    checks: list(input.checks),
  };
  const c = new Compiler(sections, opts);
  const compiled = c.run();
  return { compiled, problems: c.problems };
}
