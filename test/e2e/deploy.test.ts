/**
 * What ships in deploy/, the Dockerfile and the npm package, checked against the real CLI and
 * real running nodes:
 * - the Grafana dashboard queries only metrics that /metrics exposes (a file-mode node and a
 *   cluster-mode node on a real etcd);
 * - the Kubernetes manifests use only flags `meridian serve --help` lists, their container ports
 *   match --dns/--admin, the Services target named ports that exist, the probes' paths answer 200
 *   on a node started with the manifest's own arguments and ConfigMap zones (mounted the way the
 *   kubelet does, and updated the way it does);
 * - the systemd unit's flags exist, what it writes is inside its StateDirectory, and its user,
 *   capabilities and no-new-privileges really let a non-root node bind port 53 (setpriv);
 * - the Dockerfile's HEALTHCHECK command, run as written, passes on a ready node and fails
 *   otherwise; its labels and EXPOSE agree with package.json and CMD; .dockerignore keeps every
 *   COPY source;
 * - `npm pack` ships dist/, not src/ or test/, and the unpacked package runs.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ask } from '../support/dns-client.js';
import { freePort, repoRoot, spawnMeridian, tempZones, waitFor, type MeridianProcess } from '../support/tools.js';
import { hasEtcd, startEtcd, type TestEtcd } from '../support/etcd.js';
import { Target } from '../support/target.js';

const run = promisify(execFile);
const MAIN = path.join(repoRoot, 'dist/main.js');
const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string; license: string };
const read = (rel: string): string => fs.readFileSync(path.join(repoRoot, rel), 'utf8');
const tmp = (prefix: string): string => fs.mkdtempSync(path.join(os.tmpdir(), `meridian-${prefix}-`));

const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/**
 * dist/main.js where `user` can run it: this checkout when the user can read it, else a copy of
 * what runs (dist/, node_modules/, package.json) in a directory anyone can reach, hard-linked where
 * the filesystem allows. A checkout under a private directory (a CI clone in `mktemp -d`) is not
 * reachable by another user.
 */
async function mainFor(user: string): Promise<string> {
  const readable = await run('setpriv', [`--reuid=${user}`, '--clear-groups', 'test', '-r', MAIN]).then(
    () => true,
    () => false,
  );
  if (readable) return MAIN;
  const dir = tmp('app');
  fs.chmodSync(dir, 0o755);
  for (const part of ['dist', 'node_modules', 'package.json']) {
    const from = path.join(repoRoot, part);
    await run('cp', ['-al', from, dir]).catch(() => run('cp', ['-a', from, dir]));
  }
  return path.join(dir, 'dist/main.js');
}

async function spawned(p: Promise<MeridianProcess>): Promise<MeridianProcess> {
  const m = await p;
  children.push(m.child);
  return m;
}

/** Runs any command line that ends in `meridian serve ...` until it logs "meridian serving". */
function startServing(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; dns: string; admin: string; logs: string[] }> {
  const child = spawn(argv[0]!, argv.slice(1), { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const logs: string[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`did not start:\n${logs.join('\n')}`)), 15_000);
    child.stderr!.on('data', (d: Buffer) => logs.push(d.toString()));
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        logs.push(line);
        try {
          const rec = JSON.parse(line) as { msg?: string; dns?: string; admin?: string };
          if (rec.msg === 'meridian serving') {
            clearTimeout(timer);
            resolve({ child, dns: rec.dns!, admin: rec.admin!, logs });
          }
        } catch {
          // not JSON
        }
      }
    });
    child.on('exit', (code) => reject(new Error(`exited with ${code}:\n${logs.join('\n')}`)));
  });
}

/** `--flag=value` split into two tokens, so every flag is looked at the same way. */
function tokens(args: readonly string[]): string[] {
  return args.flatMap((a) => (a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a]));
}
function flagValue(args: readonly string[], flag: string): string | undefined {
  const t = tokens(args);
  const i = t.indexOf(flag);
  return i >= 0 ? t[i + 1] : undefined;
}
/** The arguments with each flag in `values` given a new value, and the flags in `drop` removed with their values. */
function rewrite(args: readonly string[], values: Record<string, string>, drop: string[] = []): string[] {
  const t = tokens(args);
  const out: string[] = [];
  for (let i = 0; i < t.length; i++) {
    const a = t[i]!;
    if (drop.includes(a)) {
      i++;
    } else if (a in values) {
      out.push(a, values[a]!);
      i++;
    } else {
      out.push(a);
    }
  }
  return out;
}

/** Every `--flag` in `meridian serve --help`, read from the real CLI. */
let serveFlags: Set<string>;
/** Flags of `serve` that take no value (so `flagsOf` knows whether a value follows a flag). */
let booleanFlags: Set<string>;
beforeAll(async () => {
  const { stdout } = await run(process.execPath, [MAIN, 'serve', '--help']);
  serveFlags = new Set([...stdout.matchAll(/(?<![\w-])(--[a-z][a-z0-9-]*)/g)].map((m) => m[1]!));
  // A flag whose help line has no argument placeholder after it is a switch.
  booleanFlags = new Set(
    [...stdout.matchAll(/^\s+(?:-\w, )?(--[a-z][a-z0-9-]*)(\s+\S+)?/gm)].filter((m) => !m[2] || !/^\s+[A-Z]/.test(m[2])).map((m) => m[1]!),
  );
  expect(serveFlags.has('--dns')).toBe(true);
  expect(serveFlags.has('--admin')).toBe(true);
});

/** The flags in a `serve` argument list; fails on a value-taking flag with no value. */
function flagsOf(args: readonly string[]): string[] {
  const t = tokens(args);
  const flags: string[] = [];
  for (let i = 0; i < t.length; i++) {
    if (!t[i]!.startsWith('-')) continue;
    flags.push(t[i]!);
    if (!booleanFlags.has(t[i]!)) {
      expect(t[i + 1], `${t[i]} needs a value`).toBeDefined();
      i++;
    }
  }
  return flags;
}

function portOf(hostPort: string): number {
  return Number(hostPort.slice(hostPort.lastIndexOf(':') + 1));
}

// ---------------------------------------------------------------------------------------------
// The Grafana dashboard

const PROMQL_KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan']);

/** The metric names a PromQL expression selects (strings, label matchers, ranges, label lists and functions removed). */
function metricNames(expr: string): Set<string> {
  let s = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ');
  s = s.replace(/\{[^}]*\}/g, ' ').replace(/\[[^\]]*\]/g, ' ');
  s = s.replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  s = s.replace(/\$\{?\w+\}?/g, ' ');
  const names = new Set<string>();
  for (const m of s.matchAll(/(\d+(?:\.\d*)?(?:e[+-]?\d+)?)|([a-zA-Z_:][\w:]*)(\s*\()?/gi)) {
    if (m[1] || m[3] || !m[2] || PROMQL_KEYWORDS.has(m[2].toLowerCase())) continue;
    names.add(m[2]);
  }
  return names;
}

interface Panel {
  title?: string;
  type: string;
  targets?: { expr?: string }[];
  panels?: Panel[];
}
const dashboard = JSON.parse(read('deploy/grafana/meridian.json')) as { panels: Panel[]; templating: { list: { query?: string | { query?: string } }[] } };

/** metric → the panels (or variables) that query it. */
function dashboardMetrics(): Map<string, string[]> {
  const used = new Map<string, string[]>();
  const add = (name: string, where: string) => used.set(name, [...(used.get(name) ?? []), where]);
  const walk = (panels: Panel[]) => {
    for (const p of panels) {
      for (const t of p.targets ?? []) if (t.expr) for (const n of metricNames(t.expr)) add(n, `panel "${p.title}"`);
      if (p.panels) walk(p.panels);
    }
  };
  walk(dashboard.panels);
  for (const v of dashboard.templating.list) {
    const q = typeof v.query === 'string' ? v.query : v.query?.query;
    const m = q ? /label_values\(\s*([a-zA-Z_:][\w:]*)/.exec(q) : null;
    if (m) add(m[1]!, 'a template variable');
  }
  return used;
}

/** Every series name a /metrics text can produce: TYPE lines (histograms and summaries with their suffixes) and samples. */
function exposedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(m[1]!);
    if (m[2] === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(m[1]! + s);
    if (m[2] === 'summary') for (const s of ['_sum', '_count']) names.add(m[1]! + s);
  }
  for (const m of text.matchAll(/^([a-zA-Z_:][\w:]*)[{ ]/gm)) names.add(m[1]!);
  return names;
}

function missingFrom(text: string): string[] {
  const exposed = exposedNames(text);
  return [...dashboardMetrics()].filter(([name]) => !exposed.has(name)).map(([name, where]) => `${name} (${where.join(', ')})`);
}

/** metric → the label names its samples carry, from a /metrics text. */
function sampleLabels(text: string): Map<string, Set<string>> {
  const labels = new Map<string, Set<string>>();
  for (const m of text.matchAll(/^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? \S+$/gm)) {
    const set = labels.get(m[1]!) ?? new Set<string>();
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_]\w*)="/g)) set.add(l[1]!);
    labels.set(m[1]!, set);
  }
  return labels;
}

/** Labels Prometheus adds to every series it scrapes. */
const TARGET_LABELS = new Set(['instance', 'job']);

/**
 * Label names the dashboard's queries use that the metrics do not have: every matcher in a
 * selector must be a label of that metric, and every `by (...)` label one of some metric in the
 * same query.
 */
function labelProblems(text: string): string[] {
  const have = sampleLabels(text);
  const problems: string[] = [];
  const exprs: string[] = [];
  const walk = (panels: Panel[]) => {
    for (const p of panels) {
      for (const t of p.targets ?? []) if (t.expr) exprs.push(t.expr);
      if (p.panels) walk(p.panels);
    }
  };
  walk(dashboard.panels);
  for (const expr of exprs) {
    const inExpr = new Set<string>();
    for (const m of expr.matchAll(/([a-zA-Z_:][\w:]*)\s*\{((?:[^}"]|"(?:[^"\\]|\\.)*")*)\}/g)) {
      const metric = m[1]!;
      const labels = have.get(metric);
      const used = [...m[2]!.matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)\s*"/g)].map((l) => l[1]!).filter((l) => !TARGET_LABELS.has(l));
      if (labels) for (const l of labels) inExpr.add(l);
      if (used.length === 0) continue;
      if (!labels) problems.push(`${metric} has no samples to check {${used.join(',')}} against (in ${expr})`);
      else for (const l of used) if (!labels.has(l)) problems.push(`${metric} has no label "${l}" (in ${expr})`);
    }
    for (const m of expr.matchAll(/\bby\s*\(([^)]*)\)/g)) {
      for (const l of m[1]!
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean)) {
        if (!TARGET_LABELS.has(l) && l !== 'le' && !inExpr.has(l)) problems.push(`by (${l}): no metric in the query has it (in ${expr})`);
      }
    }
  }
  return problems;
}

/** The shipped zones plus one whose endpoint is health-checked (a real HTTP target), so every panel has samples. */
async function busyZones(targets: Target[]): Promise<string> {
  const dir = tempZones();
  const target = new Target('127.0.0.41', await freePort());
  await target.start();
  targets.push(target);
  fs.writeFileSync(
    path.join(dir, 'checked.test.yaml'),
    `zone: checked.test
soa: { mname: ns1, rname: hostmaster, serial: 1, refresh: 1h, retry: 10m, expire: 1w, minimum: 5 }
ns: [ns1]
records:
  - { name: ns1, type: A, value: 192.0.2.53 }
checks:
  - { id: web, type: http, path: /health, port: ${target.port}, body: ok, interval: 1s, timeout: 500ms, rise: 2, fall: 2 }
regions:
  - { id: eu, location: { lat: 50, lon: 8 }, country: DE }
pools:
  - { id: p, check: web, endpoints: [ { id: a, address: 127.0.0.41, region: eu } ] }
policies:
  - { name: app, type: A, ttl: 1, policy: { pool: p } }
`,
  );
  return dir;
}

/** Queries of every kind (static, NXDOMAIN, policy answers with ECS), then waits for check results; returns /metrics. */
async function busyMetrics(dnsPort: number, adminPort: number): Promise<string> {
  await ask(dnsPort, 'www.example.net', 'A');
  await ask(dnsPort, 'nope.example.net', 'A');
  await ask(dnsPort, 'api.gslb.example.org', 'A', { ecs: { family: 1, sourcePrefix: 24, address: '81.2.69.0' } });
  await ask(dnsPort, 'app.checked.test', 'A');
  return waitFor(async () => {
    const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
    return /^meridian_health_check_duration_seconds_bucket\{/m.test(text) && /^meridian_policy_answers_total\{/m.test(text) ? text : null;
  }, 15_000);
}

/** Metrics that only a cluster-mode node has. */
const CLUSTER_ONLY = ['meridian_etcd_up', 'meridian_etcd_unreachable_total', 'meridian_config_revision'];

describe('the Grafana dashboard (deploy/grafana/meridian.json)', () => {
  let etcd: TestEtcd | undefined;
  const targets: Target[] = [];
  beforeAll(async () => {
    if (!hasEtcd) throw new Error('etcd-server is not installed (npm run setup installs it)');
    etcd = await startEtcd();
  }, 30_000);
  afterAll(async () => {
    await etcd?.destroy();
    for (const t of targets) await t.stop();
  });

  it('reads metric names out of PromQL as Prometheus would', () => {
    expect(
      [
        ...metricNames(
          'sum by (zone, rcode) (rate(a_total{instance=~"$instance",zone="x{y}"}[$__rate_interval])) / on(instance) group_left(region) b_info + 1e-9',
        ),
      ].sort(),
    ).toEqual(['a_total', 'b_info']);
    expect([...metricNames('histogram_quantile(0.99, sum by (le) (rate(h_bucket[5m]))) > bool 0.5 and scalar(max(c))')].sort()).toEqual(['c', 'h_bucket']);
    // A metric the nodes do not have is reported, so the checks below can fail.
    expect(exposedNames('# TYPE meridian_zones gauge\nmeridian_zones 2\n').has('meridian_nope_total')).toBe(false);
    expect([...sampleLabels('m_total{zone="a.",rcode="NOERROR"} 3\nh_bucket{le="0.1"} 1\n')].map(([k, v]) => [k, [...v]])).toEqual([
      ['m_total', ['zone', 'rcode']],
      ['h_bucket', ['le']],
    ]);
  });

  it('covers queries by zone and rcode, policy answers by region, health, check RTTs, etcd and build info', () => {
    const used = dashboardMetrics();
    for (const m of [
      'meridian_dns_queries_total',
      'meridian_policy_answers_total',
      'meridian_region_status',
      'meridian_endpoint_health',
      'meridian_health_check_duration_seconds_bucket',
      'meridian_etcd_up',
      'meridian_build_info',
      'process_cpu_seconds_total',
    ]) {
      expect(used.has(m), m).toBe(true);
    }
    const exprs = JSON.stringify(dashboard);
    expect(exprs).toMatch(/sum by \(zone, rcode\) \(rate\(meridian_dns_queries_total/);
    expect(exprs).toMatch(/sum by \(region\) \(rate\(meridian_policy_answers_total/);
  });

  it('is a dashboard Grafana can import: unique panel ids, panels inside the 24-column grid and not overlapping, a Prometheus data source variable', () => {
    const panels = dashboard.panels as (Panel & { id: number; gridPos: { x: number; y: number; w: number; h: number }; datasource?: { uid: string } })[];
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    const cells = new Set<string>();
    for (const p of panels) {
      const g = p.gridPos;
      expect(g.x + g.w, p.title).toBeLessThanOrEqual(24);
      for (let x = g.x; x < g.x + g.w; x++) {
        for (let y = g.y; y < g.y + g.h; y++) {
          expect(cells.has(`${x},${y}`), `${p.title} overlaps at ${x},${y}`).toBe(false);
          cells.add(`${x},${y}`);
        }
      }
      // Grafana's own template variable, not a JavaScript template.
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal text ${datasource}
      if (p.type !== 'row') expect(p.datasource?.uid).toBe('${datasource}');
    }
    const ds = dashboard.templating.list.find((v) => (v as { name?: string }).name === 'datasource') as { type: string; query: string } | undefined;
    expect(ds).toMatchObject({ type: 'datasource', query: 'prometheus' });
  });

  it('queries only metrics, and labels, that a file-mode node exposes, apart from the cluster-only metrics', async () => {
    const node = await spawned(spawnMeridian(['--zones', await busyZones(targets)]));
    const text = await busyMetrics(node.dnsPort, node.adminPort);
    expect(missingFrom(text).filter((m) => !CLUSTER_ONLY.some((c) => m.startsWith(`${c} `)))).toEqual([]);
    expect(labelProblems(text).filter((p) => !CLUSTER_ONLY.some((c) => p.startsWith(`${c} `)))).toEqual([]);
    node.child.kill('SIGTERM');
    await node.exited;
  });

  it('queries only metrics, and labels, that a cluster-mode node on etcd exposes', async () => {
    const prefix = `/dash-${process.pid}`;
    const imported = await run(process.execPath, [
      MAIN,
      'cluster',
      'import',
      '--etcd',
      etcd!.url,
      '--etcd-prefix',
      prefix,
      '--zones',
      await busyZones(targets),
    ]);
    expect(imported.stdout).toContain('imported');
    const node = await spawned(spawnMeridian(['--etcd', etcd!.url, '--etcd-prefix', prefix, '--node-id', 'dash', '--region', 'test']));
    const text = await busyMetrics(node.dnsPort, node.adminPort);
    expect(missingFrom(text)).toEqual([]);
    expect(labelProblems(text)).toEqual([]);
    for (const c of CLUSTER_ONLY) expect(exposedNames(text).has(c), c).toBe(true);
    node.child.kill('SIGTERM');
    await node.exited;
  });
});

// ---------------------------------------------------------------------------------------------
// Kubernetes

interface Container {
  name: string;
  image: string;
  args: string[];
  ports: { name: string; containerPort: number; protocol?: string }[];
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  startupProbe?: { httpGet?: { path: string; port: string | number } };
  securityContext: { allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean; capabilities?: { drop?: string[]; add?: string[] } };
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface K8sDoc {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  spec?: any;
  data?: Record<string, string>;
}

const K8S = path.join(repoRoot, 'deploy/kubernetes');
const k8sDocs: K8sDoc[] = fs
  .readdirSync(K8S)
  .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
  .flatMap((f) =>
    parseAllDocuments(fs.readFileSync(path.join(K8S, f), 'utf8')).map((d) => {
      expect(d.errors, f).toEqual([]);
      return d.toJS() as K8sDoc;
    }),
  );
const workload = k8sDocs.find((d) => d.kind === 'Deployment' || d.kind === 'DaemonSet')!;
const podSpec = workload?.spec.template.spec as {
  securityContext: { runAsNonRoot?: boolean; runAsUser?: number; sysctls?: { name: string; value: string }[] };
  containers: Container[];
  volumes: { name: string; configMap?: { name: string }; secret?: { secretName: string }; emptyDir?: object }[];
};
const container = podSpec!.containers.find((c) => c.name === 'meridian')!;

/** The volume mounted at the directory holding `file`, and its mount. */
function volumeFor(file: string) {
  const mount = container.volumeMounts
    .filter((m) => file === m.mountPath || file.startsWith(`${m.mountPath}/`))
    .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
  return mount ? { mount, volume: podSpec.volumes.find((v) => v.name === mount.name)! } : undefined;
}

describe('the Kubernetes manifests (deploy/kubernetes)', () => {
  it('are what kustomization.yaml lists: a Deployment, Services, a ConfigMap of zones', () => {
    const k = parseYaml(fs.readFileSync(path.join(K8S, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
    expect(k.resources.sort()).toEqual(
      fs
        .readdirSync(K8S)
        .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
        .sort(),
    );
    expect(workload).toBeDefined();
    expect(container).toBeDefined();
    expect(k8sDocs.filter((d) => d.kind === 'Service').length).toBeGreaterThan(0);
    expect(k8sDocs.some((d) => d.kind === 'ConfigMap')).toBe(true);
  });

  it('run `meridian serve` with flags the CLI has, ports that match --dns and --admin, and the image of this version', () => {
    expect(container.args[0]).toBe('serve');
    for (const f of flagsOf(container.args.slice(1))) expect(serveFlags.has(f), `${f} is not in \`meridian serve --help\``).toBe(true);
    const dns = portOf(flagValue(container.args, '--dns')!);
    const admin = portOf(flagValue(container.args, '--admin')!);
    const port = (name: string) => container.ports.find((p) => p.name === name);
    expect(
      container.ports
        .filter((p) => p.containerPort === dns)
        .map((p) => p.protocol ?? 'TCP')
        .sort(),
    ).toEqual(['TCP', 'UDP']);
    expect(container.ports.some((p) => p.containerPort === admin && (p.protocol ?? 'TCP') === 'TCP')).toBe(true);
    for (const probe of [container.livenessProbe, container.readinessProbe, container.startupProbe]) {
      if (!probe) continue;
      const p = probe.httpGet!.port;
      expect(typeof p === 'number' ? p : port(p)?.containerPort).toBe(admin);
    }
    expect(container.livenessProbe?.httpGet?.path).toBe('/livez');
    expect(container.readinessProbe?.httpGet?.path).toBe('/readyz');
    const annotations = workload.spec.template.metadata.annotations as Record<string, string>;
    expect(Number(annotations['prometheus.io/port'])).toBe(admin);
    expect(container.image.split(':').pop()).toBe(pkg.version);
  });

  it('have Services that target named container ports with their protocol, DNS on UDP and TCP 53', () => {
    const podLabels = workload.spec.template.metadata.labels as Record<string, string>;
    const services = k8sDocs.filter((d) => d.kind === 'Service');
    for (const svc of services) {
      for (const [k, v] of Object.entries(svc.spec.selector as Record<string, string>)) expect(podLabels[k], `${svc.metadata.name} selects ${k}=${v}`).toBe(v);
      for (const p of svc.spec.ports as { name: string; port: number; targetPort: string; protocol?: string }[]) {
        expect(typeof p.targetPort, `${svc.metadata.name}/${p.name} targets a named port`).toBe('string');
        const target = container.ports.find((c) => c.name === p.targetPort);
        expect(target, `${svc.metadata.name}/${p.name} → ${p.targetPort}`).toBeDefined();
        expect(target!.protocol ?? 'TCP').toBe(p.protocol ?? 'TCP');
      }
    }
    const dnsPorts = services.flatMap((s) => s.spec.ports as { port: number; protocol?: string }[]).filter((p) => p.port === 53);
    expect(dnsPorts.map((p) => p.protocol ?? 'TCP').sort()).toEqual(['TCP', 'UDP']);
    for (const d of k8sDocs.filter((x) => x.kind === 'PodDisruptionBudget')) {
      for (const [k, v] of Object.entries(d.spec.selector.matchLabels as Record<string, string>)) expect(podLabels[k]).toBe(v);
    }
  });

  it('run as non-root with no capabilities, and may bind the DNS port all the same', () => {
    expect(podSpec.securityContext.runAsNonRoot).toBe(true);
    expect(podSpec.securityContext.runAsUser).not.toBe(0);
    expect(container.securityContext.allowPrivilegeEscalation).toBe(false);
    expect(container.securityContext.readOnlyRootFilesystem).toBe(true);
    expect(container.securityContext.capabilities?.drop).toContain('ALL');
    const dns = portOf(flagValue(container.args, '--dns')!);
    if (dns < 1024) {
      const start = podSpec.securityContext.sysctls?.find((s) => s.name === 'net.ipv4.ip_unprivileged_port_start');
      expect(start, 'a port below 1024 needs net.ipv4.ip_unprivileged_port_start').toBeDefined();
      expect(Number(start!.value)).toBeLessThanOrEqual(dns);
    }
  });

  it('mount the zones from a ConfigMap, the tokens from a Secret, and the state on a writable volume', () => {
    const zones = volumeFor(flagValue(container.args, '--zones')!);
    expect(zones?.volume.configMap?.name).toBeDefined();
    expect(k8sDocs.some((d) => d.kind === 'ConfigMap' && d.metadata.name === zones!.volume.configMap!.name)).toBe(true);
    expect(volumeFor(flagValue(container.args, '--tokens')!)?.volume.secret).toBeDefined();
    const state = volumeFor(flagValue(container.args, '--state')!);
    expect(state, '--state must be on a volume: the root filesystem is read-only').toBeDefined();
    expect(state!.mount.readOnly ?? false).toBe(false);
    expect(state!.volume.configMap ?? state!.volume.secret).toBeUndefined();
  });

  it("serve: a node started with the manifest's arguments and ConfigMap, mounted as the kubelet does, answers its probes and reloads an updated ConfigMap", async () => {
    const cm = k8sDocs.find((d) => d.kind === 'ConfigMap' && d.metadata.name === volumeFor(flagValue(container.args, '--zones')!)!.volume.configMap!.name)!;
    // The kubelet's layout: files in a timestamped directory, `..data` pointing at it, and one
    // symlink per key through `..data`. An update writes a new directory and swaps `..data`.
    const mount = tmp('configmap');
    const publish = (data: Record<string, string>, stamp: string) => {
      fs.mkdirSync(path.join(mount, stamp));
      for (const [k, v] of Object.entries(data)) fs.writeFileSync(path.join(mount, stamp, k), v);
      fs.symlinkSync(stamp, path.join(mount, '..data_tmp'));
      fs.renameSync(path.join(mount, '..data_tmp'), path.join(mount, '..data'));
      for (const k of Object.keys(data)) if (!fs.existsSync(path.join(mount, k))) fs.symlinkSync(path.join('..data', k), path.join(mount, k));
    };
    publish(cm.data!, '..2026_12_01_00_00_00.000000001');
    const secret = tmp('secret');
    fs.writeFileSync(path.join(secret, 'tokens.yaml'), '- { name: ops, role: write, token: deploy-test-token-0123456789abcdef }\n');
    const args = rewrite(
      container.args.slice(1),
      {
        '--zones': mount,
        '--state': tmp('state'),
        '--tokens': path.join(secret, path.basename(flagValue(container.args, '--tokens')!)),
      },
      ['--dns', '--admin'],
    );
    const env = Object.fromEntries(((container as unknown as { env?: { name: string; value: string }[] }).env ?? []).map((e) => [e.name, e.value]));
    const node = await spawned(spawnMeridian(args, env));
    const admin = `http://127.0.0.1:${node.adminPort}`;
    for (const probe of [container.livenessProbe, container.readinessProbe, container.startupProbe]) {
      if (probe) expect((await fetch(admin + probe.httpGet!.path)).status, probe.httpGet!.path).toBe(200);
    }
    const annotations = workload.spec.template.metadata.annotations as Record<string, string>;
    expect((await fetch(admin + annotations['prometheus.io/path'])).status).toBe(200);
    // The tokens from the Secret are in force: the API wants one.
    expect((await fetch(`${admin}/v1/zones`)).status).toBe(401);
    // Every zone in the ConfigMap is served.
    const zoneOf = (text: string) => parseYaml(text) as { zone: string; soa: { serial: number } };
    for (const text of Object.values(cm.data!)) {
      const r = await ask(node.dnsPort, zoneOf(text).zone, 'SOA');
      expect(r.rcode).toBe('NOERROR');
      expect(r.answers?.[0]?.data.serial).toBe(zoneOf(text).soa.serial);
    }
    // `kubectl apply` of a changed ConfigMap: the kubelet swaps `..data`, Meridian reloads.
    const [key, text] = Object.entries(cm.data!)[0]!;
    const serial = zoneOf(text).soa.serial;
    publish({ ...cm.data!, [key]: text.replace(`serial: ${serial}`, `serial: ${serial + 1}`) }, '..2026_12_01_00_05_00.000000002');
    await waitFor(async () => (await ask(node.dnsPort, zoneOf(text).zone, 'SOA')).answers?.[0]?.data.serial === serial + 1);
    node.child.kill('SIGTERM');
    expect(await node.exited).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------
// systemd

/** A unit file as section → key → values (a key may repeat). */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const raw of text.replace(/\\\n/g, ' ').split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const s = /^\[(.+)\]$/.exec(line);
    if (s) {
      sections.set(s[1]!, (current = new Map()));
      continue;
    }
    const eq = line.indexOf('=');
    expect(eq, line).toBeGreaterThan(0);
    expect(current, `${line} is outside a section`).toBeDefined();
    const k = line.slice(0, eq).trim();
    current!.set(k, [...(current!.get(k) ?? []), line.slice(eq + 1).trim()]);
  }
  return sections;
}

describe('the systemd unit (deploy/systemd/meridian.service)', () => {
  const unit = parseUnit(read('deploy/systemd/meridian.service'));
  const service = unit.get('Service')!;
  const one = (k: string) => service.get(k)?.at(-1);
  const exec = one('ExecStart')!.split(/\s+/);
  const serveAt = exec.indexOf('serve');

  it('reloads with SIGHUP, restarts on failure, and runs `meridian serve` with flags the CLI has', () => {
    expect(one('ExecReload')).toBe('/bin/kill -HUP $MAINPID');
    expect(one('Restart')).toBe('on-failure');
    expect(exec[0]).toMatch(/^\//); // systemd wants an absolute path
    expect(exec[1]).toMatch(/\/dist\/main\.js$/);
    expect(serveAt).toBe(2);
    for (const f of flagsOf(exec.slice(serveAt + 1))) expect(serveFlags.has(f), `${f} is not in \`meridian serve --help\``).toBe(true);
    expect(unit.get('Install')?.get('WantedBy')).toEqual(['multi-user.target']);
  });

  it('is hardened, and everything it writes is inside its StateDirectory', () => {
    expect(one('User')).toBeDefined();
    expect(one('User')).not.toBe('root');
    expect(one('NoNewPrivileges')).toBe('yes');
    expect(one('ProtectSystem')).toBe('strict');
    expect(one('AmbientCapabilities')).toBe('CAP_NET_BIND_SERVICE');
    expect(one('CapabilityBoundingSet')).toBe('CAP_NET_BIND_SERVICE');
    for (const k of [
      'ProtectHome',
      'PrivateTmp',
      'PrivateDevices',
      'ProtectKernelTunables',
      'ProtectKernelModules',
      'ProtectControlGroups',
      'RestrictSUIDSGID',
      'LockPersonality',
    ])
      expect(one(k), k).toBe('yes');
    // V8's JIT needs W+X memory: node cannot start with it.
    expect(service.has('MemoryDenyWriteExecute')).toBe(false);
    const stateDirs = (one('StateDirectory') ?? '').split(/\s+/).map((d) => `/var/lib/${d}`);
    const args = exec.slice(serveAt + 1);
    for (const flag of ['--zones', '--state']) {
      const dir = flagValue(args, flag)!;
      expect(
        stateDirs.some((d) => dir === d || dir.startsWith(`${d}/`)),
        `${flag} ${dir} must be in a StateDirectory (ProtectSystem=strict)`,
      ).toBe(true);
    }
  });

  it.skipIf(process.getuid?.() !== 0)('its user, capabilities and NoNewPrivileges let a non-root node bind port 53 (setpriv, as systemd would)', async () => {
    const args = exec.slice(serveAt + 1);
    const dnsPort = portOf(flagValue(args, '--dns')!);
    expect(dnsPort).toBe(53);
    // A loopback address of its own, so nothing else on this machine holds port 53 there.
    const host = `127.${Math.floor(Math.random() * 200) + 20}.${Math.floor(Math.random() * 250) + 1}.53`;
    const zones = tempZones();
    const state = tmp('unit-state');
    for (const d of [zones, state]) fs.chmodSync(d, 0o777);
    const caps = one('AmbientCapabilities')!.toLowerCase().replace(/^cap_/, '');
    const user = 'nobody'; // the unit's own user need not exist here; any non-root user will do
    const setpriv = [
      'setpriv',
      `--reuid=${user}`,
      `--regid=${user === 'nobody' ? 'nogroup' : user}`,
      '--clear-groups',
      `--inh-caps=+${caps}`,
      `--ambient-caps=+${caps}`,
      `--bounding-set=-all,+${one('CapabilityBoundingSet')!.toLowerCase().replace(/^cap_/, '')}`,
      ...(one('NoNewPrivileges') === 'yes' ? ['--no-new-privs'] : []),
    ];
    const node = await startServing([
      ...setpriv,
      process.execPath,
      await mainFor('nobody'),
      'serve',
      ...rewrite(args, { '--zones': zones, '--state': state, '--dns': `${host}:${dnsPort}`, '--admin': '127.0.0.1:0' }),
    ]);
    expect(node.dns).toBe(`${host}:53`);
    const r = await ask(53, 'example.net', 'SOA', { host });
    expect(r.rcode).toBe('NOERROR');
    const status = fs.readFileSync(`/proc/${node.child.pid}/status`, 'utf8');
    expect(status).toMatch(/^Uid:\s+(\d+)/m);
    expect(Number(/^Uid:\s+(\d+)/m.exec(status)![1])).not.toBe(0);
    expect(status).toMatch(/^NoNewPrivs:\s+1$/m);
    node.child.kill('SIGTERM');
    // The control: the same user without the ambient capability is refused the port.
    const bind = `require('dgram').createSocket('udp4').on('error', (e) => { console.log(e.code); process.exit(0); }).bind(53, '${host}', () => { console.log('bound'); process.exit(0); })`;
    const denied = await run('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', '--no-new-privs', process.execPath, '-e', bind]);
    expect(denied.stdout.trim()).toBe('EACCES');
  });
});

// ---------------------------------------------------------------------------------------------
// Docker

/** Dockerfile instructions (continuations joined, comments dropped) in order. */
function dockerfile(): { op: string; rest: string }[] {
  const out: { op: string; rest: string }[] = [];
  const lines = read('Dockerfile')
    .split('\n')
    .filter((l) => !/^\s*#/.test(l));
  for (const l of lines.join('\n').replace(/\\\n/g, ' ').split('\n')) {
    const m = /^\s*([A-Z]+)\s+(.*)$/.exec(l);
    if (m) out.push({ op: m[1]!, rest: m[2]!.trim() });
  }
  return out;
}

/** Docker's .dockerignore rules: `**`, `*`, `?`, `!` exceptions; the last matching rule wins; a rule matching a directory covers what is in it. */
function dockerIgnored(rules: string[], file: string): boolean {
  let ignored = false;
  const parents = file.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'));
  for (const raw of rules) {
    const negate = raw.startsWith('!');
    const pat = (negate ? raw.slice(1) : raw).replace(/^\/+|\/+$/g, '');
    const glob = (part: string) =>
      part
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '[^/]*')
        .replace(/\?/g, '[^/]');
    // `**/` is any number of directories, none included; a trailing `/**` is everything below.
    const source = pat
      .split(/(\*\*\/|\/\*\*$|\*\*)/)
      .map((part) => (part === '**/' ? '(?:.*/)?' : part === '/**' ? '(?:/.*)?' : part === '**' ? '.*' : glob(part)))
      .join('');
    const re = new RegExp(`^${source}$`);
    if (parents.some((p) => re.test(p))) ignored = !negate;
  }
  return ignored;
}

function filesUnder(rel: string): string[] {
  const abs = path.join(repoRoot, rel);
  if (!fs.statSync(abs).isDirectory()) return [rel];
  return fs
    .readdirSync(abs, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(repoRoot, path.join(e.parentPath, e.name)));
}

describe('the Dockerfile', () => {
  const ins = dockerfile();
  const json = (op: string) =>
    JSON.parse(
      ins
        .filter((i) => i.op === op)
        .at(-1)!
        .rest.replace(/^CMD\s+/, ''),
    ) as string[];
  const cmd = json('CMD');
  const healthcheck = ins.find((i) => i.op === 'HEALTHCHECK')!;
  const hcCmd = JSON.parse(healthcheck.rest.slice(healthcheck.rest.indexOf('CMD') + 3).trim()) as string[];
  const script = hcCmd[2]!;
  const url = new URL(/https?:\/\/[^'"`]+/.exec(script)![0]);

  it('has OCI labels that agree with package.json and the base image, and EXPOSEs what CMD listens on', () => {
    const labels = Object.fromEntries(
      [
        ...ins
          .filter((i) => i.op === 'LABEL')
          .map((i) => i.rest)
          .join(' ')
          .matchAll(/([\w.-]+)="([^"]*)"/g),
      ].map((m) => [m[1]!, m[2]!]),
    );
    expect(labels['org.opencontainers.image.version']).toBe(pkg.version);
    expect(labels['org.opencontainers.image.licenses']).toBe(pkg.license);
    expect(labels['org.opencontainers.image.title']).toBe('meridian');
    const base = ins
      .filter((i) => i.op === 'FROM')
      .at(-1)!
      .rest.split(/\s+/)[0]!;
    expect(labels['org.opencontainers.image.base.name']).toBe(`docker.io/library/${base}`);
    expect(ins.find((i) => i.op === 'USER')?.rest).toBe('node');
    const exposed = ins.filter((i) => i.op === 'EXPOSE').flatMap((i) => i.rest.split(/\s+/));
    const dns = portOf(flagValue(cmd, '--dns')!);
    expect(exposed).toEqual(expect.arrayContaining([`${dns}/udp`, `${dns}/tcp`, `${portOf(flagValue(cmd, '--admin')!)}/tcp`]));
    expect(cmd[0]).toBe('serve');
    for (const f of flagsOf(cmd.slice(1))) expect(serveFlags.has(f), f).toBe(true);
  });

  it('HEALTHCHECK asks /readyz on the admin address CMD gives', () => {
    expect(hcCmd.slice(0, 2)).toEqual(['node', '-e']);
    expect(url.pathname).toBe('/readyz');
    expect(url.host).toBe(flagValue(cmd, '--admin'));
    expect(healthcheck.rest).toMatch(/--timeout=\d+s/);
  });

  it('HEALTHCHECK, run as written, passes on a ready node and fails on a stopped one or a 503', async () => {
    const healthcheck = (port: number) =>
      new Promise<number | null>((resolve) => {
        const child = spawn(process.execPath, ['-e', script.replace(url.host, `127.0.0.1:${port}`)], { stdio: 'ignore' });
        child.on('exit', (code) => resolve(code));
      });
    const node = await spawned(spawnMeridian(['--zones', tempZones()]));
    await waitFor(async () => (await fetch(`http://127.0.0.1:${node.adminPort}/readyz`)).ok);
    expect(await healthcheck(node.adminPort)).toBe(0);
    node.child.kill('SIGTERM');
    await node.exited;
    expect(await healthcheck(node.adminPort)).toBe(1);
    // Not ready yet: what /readyz says before the first load.
    const notReady = http.createServer((_req, res) => res.writeHead(503, { 'content-type': 'application/json' }).end('{"status":"starting"}'));
    await new Promise<void>((r) => notReady.listen(0, '127.0.0.1', r));
    expect(await healthcheck((notReady.address() as { port: number }).port)).toBe(1);
    notReady.close();
  });

  it('.dockerignore keeps every COPY source and leaves tests, node_modules, dist and git out', () => {
    const rules = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    const sources = ins
      .filter((i) => i.op === 'COPY' && !i.rest.includes('--from='))
      .flatMap((i) => {
        const parts = i.rest.split(/\s+/).filter((p) => !p.startsWith('--'));
        return parts.slice(0, -1);
      });
    expect(sources.length).toBeGreaterThan(0);
    for (const src of sources) {
      const files = filesUnder(src).filter((f) => !f.endsWith('.test.ts'));
      expect(files.length, src).toBeGreaterThan(0);
      for (const f of files) expect(dockerIgnored(rules, f), `${f} (COPY ${src}) is ignored`).toBe(false);
    }
    // The build copies this page into dist/; it must reach the build stage.
    expect(dockerIgnored(rules, 'src/admin/status/page.html')).toBe(false);
    // A write token a development node made beside the zones stays out of the image.
    expect(dockerIgnored(rules, 'zones/.admin-token')).toBe(true);
    // The matcher itself, on Docker's own examples (docs.docker.com, ".dockerignore file").
    expect(dockerIgnored(['**/*.go'], 'a/b/c.go') && dockerIgnored(['**/*.go'], 'c.go') && dockerIgnored(['*/temp*'], 'somedir/temporary.txt')).toBe(true);
    expect(dockerIgnored(['*.md', '!README*.md', 'README-secret.md'], 'README-secret.md') && !dockerIgnored(['*.md', '!README*.md'], 'README.md')).toBe(true);
    expect(dockerIgnored(['**', '!src/**/*.ts'], 'src/errors.ts')).toBe(false);
    for (const f of ['node_modules/yaml/package.json', 'dist/main.js', 'test/e2e/deploy.test.ts', '.git/HEAD', 'src/dns/pipeline.test.ts', 'bench/run.sh'])
      expect(dockerIgnored(rules, f), f).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// npm pack

describe('the npm package', () => {
  it('ships dist/ (no source maps), zones, docs and deploy, and no src/, test/ or bench/', async () => {
    // A development node (`npm start`) leaves its write token beside the shipped zones: it must not ship.
    const token = path.join(repoRoot, 'zones', '.admin-token');
    const made = !fs.existsSync(token);
    if (made) fs.writeFileSync(token, 'mrd_not-a-real-token\n', { mode: 0o600 });
    let stdout: string;
    try {
      ({ stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: repoRoot }));
    } finally {
      if (made) fs.rmSync(token);
    }
    const files = (JSON.parse(stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
    expect(files).not.toContain('zones/.admin-token');
    for (const f of [
      'dist/main.js',
      'dist/admin/status/page.html',
      'package.json',
      'README.md',
      'deploy/systemd/meridian.service',
      'deploy/grafana/meridian.json',
      'docs/operations.md',
    ])
      expect(files, f).toContain(f);
    expect(files.some((f) => f.startsWith('zones/'))).toBe(true);
    for (const prefix of ['src/', 'test/', 'bench/', 'node_modules/', '.ci/', 'scripts/'])
      expect(
        files.filter((f) => f.startsWith(prefix)),
        prefix,
      ).toEqual([]);
    expect(files.filter((f) => f.endsWith('.map') || f.endsWith('.ts'))).toEqual([]);
  });

  it('runs from the unpacked tarball: check, serve, and the version it reports', async () => {
    const dest = tmp('pack');
    const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dest], { cwd: repoRoot });
    const tarball = path.join(dest, (JSON.parse(stdout) as { filename: string }[])[0]!.filename);
    await run('tar', ['-xzf', tarball, '-C', dest]);
    const root = path.join(dest, 'package');
    // The dependencies, as `npm install` of the tarball would put them.
    fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(root, 'node_modules'));
    const checked = await run(process.execPath, [path.join(root, 'dist/main.js'), 'check', '--zones', path.join(root, 'zones')]);
    expect(checked.stdout).toMatch(/^ok /m);
    const port = await freePort();
    const node = await startServing([
      process.execPath,
      path.join(root, 'dist/main.js'),
      'serve',
      '--zones',
      path.join(root, 'zones'),
      '--dns',
      `127.0.0.1:${port}`,
      '--admin',
      '127.0.0.1:0',
    ]);
    const admin = `http://${node.admin}`;
    expect((await fetch(`${admin}/status`)).status).toBe(200); // the page copied into dist/
    expect(await (await fetch(`${admin}/metrics`)).text()).toContain(`meridian_build_info{version="${pkg.version}"`);
    expect((await ask(port, 'example.net', 'SOA')).rcode).toBe('NOERROR');
    node.child.kill('SIGTERM');
  });
});
