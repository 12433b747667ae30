/**
 * @module drill/runner
 * A live drill: take a region (or some endpoints) out for a while, watch the answers change, and
 * write a report.
 *
 * 1. Preview first (drill/preview.ts). If a safety rule fails, the drill is refused.
 * 2. Drain the target with overrides that **expire** at the end of the drill. If the node that
 *    started the drill dies, the drain still lifts on time (with `--state`, overrides survive a
 *    restart together with their expiry).
 * 3. Every 100 ms, ask the node's own DNS server, over UDP with EDNS Client Subnet, for every
 *    (policy record, vantage point) whose answer held the target. Record when the target left
 *    the answer, and after the end when it came back. Count empty answers and SERVFAILs.
 * 4. Every 500 ms, check the safety rules again against the health at that moment. If another
 *    region has gone down and a rule breaks, abort: lift the drain at once.
 * The report (`GET /v1/drills/{id}`) holds the timeline, convergence times, each prediction next
 * to what was observed, and pass/fail for every rule. It is saved in the state directory.
 */
import dgram from 'node:dgram';
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import dnsPacket from 'dns-packet';
import type { HealthState, Override } from '../policy/health-view.js';
import type { OverrideBackend } from '../cluster/overrides.js';
import type { SnapshotHolder } from '../state/snapshot.js';
import type { AuditLog } from '../state/audit.js';
import { writeFileAtomic } from '../state/atomic.js';
import { preview, type DrillTarget, type Preview, type SafetyCheck } from './preview.js';

export interface DrillRequest {
  readonly target: DrillTarget;
  readonly durationS: number;
  readonly minHealthyRegions: number;
  readonly reason: string;
  readonly by: string;
}

interface Pair {
  name: string;
  type: string;
  country: string;
  subnet: string;
  before: string[];
  predicted: string[];
  observed: string[] | null;
}

export interface DrillReport {
  id: string;
  state: 'running' | 'restoring' | 'done' | 'aborted' | 'refused';
  target: DrillTarget;
  reason: string;
  by: string;
  duration_s: number;
  min_healthy_regions: number;
  started_at: string;
  ends_at: string;
  finished_at: string | null;
  timeline: { at: string; event: string; detail?: string }[];
  nodes: { node: string; drained_after_ms: number | null; restored_after_ms: number | null }[];
  observations: { name: string; type: string; country: string; subnet: string; before: string[]; predicted: string[]; observed: string[] | null; matches_prediction: boolean | null; gone_after_ms: number | null; back_after_ms: number | null }[];
  empty_or_servfail: number;
  checks: SafetyCheck[] | { rule: string; pass: boolean; detail: string }[];
  preview: Pick<Preview, 'capacity' | 'safety' | 'changed_answers'>;
}

export interface DrillContext {
  readonly holder: SnapshotHolder;
  readonly health: HealthState;
  readonly audit: AuditLog;
  /** The node's DNS address, asked during the drill. */
  readonly dns: { host: string; port: number };
  readonly stateDir?: string | undefined;
  /**
   * Where the drill's drain is stored besides this node's health view: the state directory's
   * overrides.json (so a drain outlives a crash until its expiry), or etcd (so it holds on every
   * node of a cluster).
   */
  readonly overrides?: OverrideBackend;
  /**
   * The other nodes of the cluster, whose DNS the drill watches too (cluster mode): each node's
   * id and DNS address. The drain reaches them through etcd; the report says when each one
   * dropped the target and took it back.
   */
  readonly peers?: () => { id: string; host: string; port: number }[];
}

function overrideTargets(t: DrillTarget): ({ region: string } | { endpoint: string })[] {
  return [...(t.region ? [{ region: t.region }] : []), ...(t.endpoints ?? []).map((endpoint) => ({ endpoint }))];
}

export class DrillRunner {
  readonly #drills = new Map<string, { report: DrillReport; stop: () => void }>();

  constructor(private readonly ctx: DrillContext) {
    for (const r of this.#loadSaved()) this.#drills.set(r.id, { report: r, stop: () => undefined });
  }

  list(): DrillReport[] {
    return [...this.#drills.values()].map((d) => d.report).sort((a, b) => b.started_at.localeCompare(a.started_at));
  }

  get(id: string): DrillReport | undefined {
    return this.#drills.get(id)?.report;
  }

  /** Starts a live drill, or returns the refused report (safety rules failed) without changing anything. */
  start(req: DrillRequest): DrillReport {
    const snap = this.ctx.holder.current;
    const pv = preview(snap, req.target, { minHealthyRegions: req.minHealthyRegions });
    const id = randomUUID();
    const t0 = Date.now();
    const report: DrillReport = {
      id,
      state: 'running',
      target: req.target,
      reason: req.reason,
      by: req.by,
      duration_s: req.durationS,
      min_healthy_regions: req.minHealthyRegions,
      started_at: new Date(t0).toISOString(),
      ends_at: new Date(t0 + req.durationS * 1000).toISOString(),
      finished_at: null,
      timeline: [],
      nodes: [{ node: `${this.ctx.dns.host}:${this.ctx.dns.port}`, drained_after_ms: null, restored_after_ms: null }],
      observations: [],
      empty_or_servfail: 0,
      checks: pv.safety,
      preview: { capacity: pv.capacity, safety: pv.safety, changed_answers: pv.changed_answers },
    };
    const event = (e: string, detail?: string): void => void report.timeline.push({ at: new Date().toISOString(), event: e, ...(detail ? { detail } : {}) });
    if (pv.safety.some((c) => !c.pass)) {
      report.state = 'refused';
      report.finished_at = report.started_at;
      event('refused', pv.safety.filter((c) => !c.pass).map((c) => c.detail).join('; '));
      this.ctx.audit.record({ who: req.by, action: 'drill.refused', target: `drill:${id}`, before: null, after: null, detail: { target: req.target } });
      this.#drills.set(id, { report, stop: () => undefined });
      this.#save(report);
      return report;
    }

    // Every (record, vantage point) whose answer holds the target now.
    const targetValues = new Set<string>();
    for (const zone of snap.catalog.zones) for (const pool of zone.policies?.pools.values() ?? []) for (const ep of pool.endpoints) if (ep.region === req.target.region || req.target.endpoints?.includes(ep.key)) targetValues.add(ep.value);
    const pairs: Pair[] = [];
    for (const rec of pv.records) {
      for (const v of rec.vantage) {
        if (v.before.some((x) => targetValues.has(x))) pairs.push({ name: rec.name, type: rec.type, country: v.country, subnet: v.subnet, before: v.before, predicted: v.after, observed: null });
      }
    }

    // Applied here at once (this node's answers change now), then stored; a store that fails is in the timeline.
    const setOverride = (target: { endpoint: string } | { region: string }, override: Override | null): void => {
      this.ctx.health.setOverride(target, override);
      this.ctx.overrides?.set(target, override).catch((err: Error) => event('override not stored', `${override ? 'drain' : 'lift'} of ${JSON.stringify(target)}: ${err.message}; it holds on this node only`));
    };
    const expiresAt = t0 + req.durationS * 1000;
    for (const target of overrideTargets(req.target)) setOverride(target, { kind: 'drain', reason: `drill ${id}: ${req.reason}`, by: req.by, expiresAt, setAt: t0 } as Override);
    event('drained', `${JSON.stringify(req.target)} until ${report.ends_at}; watching ${pairs.length} answers`);
    this.ctx.audit.record({ who: req.by, action: 'drill.start', target: `drill:${id}`, before: null, after: 'running', detail: { target: req.target, duration_s: req.durationS } });

    // The nodes watched: this one, and in a cluster every other node (each keeps its own record
    // of when each answer dropped the target and took it back).
    const self = { id: `${this.ctx.dns.host}:${this.ctx.dns.port}`, host: this.ctx.dns.host, port: this.ctx.dns.port };
    const watched = [self, ...(this.ctx.peers?.() ?? [])];
    report.nodes = watched.map((n) => ({ node: n.id, drained_after_ms: null, restored_after_ms: null }));
    const perNode = watched.map(() => pairs.map(() => ({ gone: null as number | null, back: null as number | null })));
    const sockets = new Map<'udp4' | 'udp6', dgram.Socket>();
    const pending = new Map<number, (answers: string[] | null, rcode: string) => void>();
    const socketFor = (host: string): dgram.Socket => {
      const family = host.includes(':') ? 'udp6' : 'udp4';
      let sock = sockets.get(family);
      if (sock) return sock;
      sock = dgram.createSocket(family);
      sock.on('error', () => undefined);
      sock.on('message', (msg) => {
        try {
          const p = dnsPacket.decode(msg) as dnsPacket.DecodedPacket & { rcode?: string };
          const cb = pending.get(p.id ?? -1);
          if (!cb) return;
          pending.delete(p.id!);
          cb(((p.answers ?? []) as { type: string; data: unknown }[]).filter((a) => a.type === 'A' || a.type === 'AAAA' || a.type === 'CNAME').map((a) => String(a.data)), p.rcode ?? 'NOERROR');
        } catch {
          // not ours
        }
      });
      sockets.set(family, sock);
      return sock;
    };
    let nextId = 1;
    const ask = (pair: Pair, node: { host: string; port: number }): Promise<{ answers: string[] | null; rcode: string }> =>
      new Promise((resolve) => {
        let qid = nextId++ & 0xffff;
        while (pending.has(qid)) qid = nextId++ & 0xffff;
        const [address, prefix] = pair.subnet.split('/');
        const timer = setTimeout(() => {
          pending.delete(qid);
          resolve({ answers: null, rcode: 'TIMEOUT' });
        }, 1000);
        pending.set(qid, (answers, rcode) => {
          clearTimeout(timer);
          resolve({ answers, rcode });
        });
        const msg = dnsPacket.encode({
          type: 'query',
          id: qid,
          questions: [{ name: pair.name.replace(/\.$/, ''), type: pair.type as dnsPacket.RecordType }],
          additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, options: [{ code: 'CLIENT_SUBNET', family: 1, sourcePrefixLength: Number(prefix), scopePrefixLength: 0, ip: address! }] } as unknown as dnsPacket.Answer],
        });
        socketFor(node.host).send(msg, node.port, node.host);
      });

    let stopped = false;
    let ticking = false;
    const finish = (state: 'done' | 'aborted', why?: string): void => {
      if (stopped) return;
      stopped = true;
      clearInterval(watch);
      clearInterval(guard);
      for (const target of overrideTargets(req.target)) setOverride(target, null);
      for (const sock of sockets.values()) sock.close();
      report.state = state;
      report.finished_at = new Date().toISOString();
      event(state === 'done' ? 'finished' : 'aborted', why);
      watched.forEach((_, i) => {
        const drained = perNode[i]!.map((x) => x.gone);
        const restored = perNode[i]!.map((x) => x.back);
        report.nodes[i]!.drained_after_ms = drained.every((x) => x !== null) ? Math.max(0, ...(drained as number[])) : null;
        report.nodes[i]!.restored_after_ms = restored.every((x) => x !== null) ? Math.max(0, ...(restored as number[])) : null;
      });
      const slowest = (k: 'drained_after_ms' | 'restored_after_ms'): number | null => (report.nodes.every((n) => n[k] !== null) ? Math.max(...report.nodes.map((n) => n[k]!)) : null);
      const drainedAll = slowest('drained_after_ms');
      const restoredAll = slowest('restored_after_ms');
      const many = report.nodes.length > 1 ? ` on all ${report.nodes.length} nodes` : '';
      report.observations = pairs.map((p, i) => ({
        name: p.name,
        type: p.type,
        country: p.country,
        subnet: p.subnet,
        before: p.before,
        predicted: p.predicted,
        observed: p.observed,
        matches_prediction: p.observed === null ? null : [...p.observed].sort().join(' ') === [...p.predicted].sort().join(' ') || (p.predicted.length > 1 && p.observed.every((x) => p.predicted.includes(x))),
        gone_after_ms: perNode[0]![i]!.gone,
        back_after_ms: perNode[0]![i]!.back,
      }));
      report.checks = [
        ...pv.safety,
        { rule: 'converged', pass: drainedAll !== null, detail: drainedAll !== null ? `every watched answer dropped the target within ${drainedAll} ms${many}` : `some answers never dropped the target${report.nodes.filter((n) => n.drained_after_ms === null).map((n) => ` (node ${n.node})`).join('')}` },
        { rule: 'no_client_without_answer', pass: report.empty_or_servfail === 0, detail: `${report.empty_or_servfail} empty, SERVFAIL or missing answers` },
        { rule: 'traffic_returned', pass: state === 'done' && restoredAll !== null, detail: restoredAll !== null ? `the target was back in every answer ${restoredAll} ms after the end${many}` : 'the target did not come back in every answer' },
        { rule: 'predictions', pass: report.observations.every((o) => o.matches_prediction !== false), detail: `${report.observations.filter((o) => o.matches_prediction).length} of ${report.observations.length} observed answers match the preview` },
      ];
      this.ctx.audit.record({ who: req.by, action: `drill.${state}`, target: `drill:${id}`, before: 'running', after: state, ...(why ? { detail: { why } } : {}) });
      this.#save(report);
    };

    const watch = setInterval(() => {
      if (ticking || stopped) return;
      ticking = true;
      const now = Date.now();
      const ended = now >= expiresAt;
      if (ended && report.state === 'running') {
        report.state = 'restoring';
        event('drain lifted', 'the overrides expired; watching the target come back');
      }
      void Promise.all(
        watched.flatMap((node, n) =>
          pairs.map(async (p, i) => {
            const { answers, rcode } = await ask(p, node);
            if (answers === null || rcode !== 'NOERROR' || answers.length === 0) {
              report.empty_or_servfail++;
              return;
            }
            const hasTarget = answers.some((a) => targetValues.has(a));
            const mine = perNode[n]![i]!;
            if (!ended) {
              if (!hasTarget && mine.gone === null) {
                mine.gone = Date.now() - t0;
                // The observed answers are this node's; the others' times are in report.nodes.
                if (n === 0) p.observed = answers;
              }
            } else if (hasTarget && mine.back === null) {
              mine.back = Date.now() - expiresAt;
            }
          }),
        ),
      ).then(() => {
        ticking = false;
        if (ended && perNode.every((ps) => ps.every((x) => x.back !== null))) finish('done');
        else if (ended && Date.now() - expiresAt > 30_000) finish('done', 'gave up waiting for every answer to return after 30 s');
      });
    }, 100);

    // Safety, again and again: another outage during the drill must not leave clients without answers.
    const guard = setInterval(() => {
      if (stopped || Date.now() >= expiresAt) return;
      const check = preview(this.ctx.holder.current, {}, { minHealthyRegions: req.minHealthyRegions, strict: true });
      const broken = check.safety.filter((c) => !c.pass);
      if (broken.length > 0) finish('aborted', `safety rule broke during the drill: ${broken.map((c) => c.detail).join('; ')}`);
    }, 500);
    watch.unref?.();
    guard.unref?.();

    this.#drills.set(id, { report, stop: () => finish('aborted', 'aborted by an operator') });
    this.#save(report);
    return report;
  }

  /** Aborts a running drill and restores at once. */
  abort(id: string, by: string): DrillReport | undefined {
    const d = this.#drills.get(id);
    if (!d) return undefined;
    if (d.report.state === 'running' || d.report.state === 'restoring') {
      d.report.timeline.push({ at: new Date().toISOString(), event: 'abort requested', detail: `by ${by}` });
      d.stop();
    }
    return d.report;
  }

  stopAll(): void {
    for (const d of this.#drills.values()) if (d.report.state === 'running' || d.report.state === 'restoring') d.stop();
  }

  #save(report: DrillReport): void {
    if (!this.ctx.stateDir) return;
    const dir = path.join(this.ctx.stateDir, 'drills');
    fs.mkdirSync(dir, { recursive: true });
    writeFileAtomic(path.join(dir, `${report.id}.json`), JSON.stringify(report, null, 1));
  }

  #loadSaved(): DrillReport[] {
    if (!this.ctx.stateDir) return [];
    const dir = path.join(this.ctx.stateDir, 'drills');
    let names: string[];
    try {
      names = fs.readdirSync(dir).filter((n) => n.endsWith('.json'));
    } catch {
      return [];
    }
    const out: DrillReport[] = [];
    for (const n of names) {
      try {
        const r = JSON.parse(fs.readFileSync(path.join(dir, n), 'utf8')) as DrillReport;
        // A drill that was running when the node stopped: its drain lifted at its expiry.
        if (r.state === 'running' || r.state === 'restoring') {
          r.state = 'aborted';
          r.timeline.push({ at: new Date().toISOString(), event: 'interrupted', detail: 'the node stopped during the drill; its drain expired on schedule' });
        }
        out.push(r);
      } catch {
        // skip a file that is not a report
      }
    }
    return out;
  }
}
