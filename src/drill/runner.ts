/**
 * @module drill/runner
 * A live drill: take a region (or some endpoints) out for a while, watch the answers change, and
 * write a report.
 *
 * 1. Preview first (drill/preview.ts). If a safety rule fails, the drill is refused.
 * 2. Drain the target with overrides that **expire** at the end of the drill. If the node that
 *    started the drill dies, the drain still lifts on time (with `--state`, overrides survive a
 *    restart together with their expiry).
 * 3. Every 100 ms, ask the node's own DNS server (and in a cluster every peer's), over UDP with
 *    EDNS Client Subnet, for every (policy record, vantage point) whose candidates the preview
 *    says change. Record when the target left the answer, and after the end when it came back.
 *    Count empty answers and SERVFAILs.
 * 3a. Judge every answer seen during the drain against the preview's "after" candidates (the set
 *    of values, order-insensitive, RFC 2181 §5): an answer that is not one of them fails the
 *    `predictions` rule, naming the answer, node and vantage point. Answers from a peer in its
 *    first {@link PEER_SETTLE_MS} are not judged (the drain reaches it through etcd); the node
 *    running the drill applies the drain before its first query, so all of its answers are.
 *    With at least {@link MIN_SAMPLES} judged answers for a pair on a node, each candidate's
 *    observed share must be within max({@link SHARE_TOLERANCE}, {@link SHARE_SIGMAS} standard
 *    errors) of the predicted share p, the standard error being √(p(1−p)/n).
 * 4. Every 500 ms, check the safety rules again against the health at that moment. If another
 *    region has gone down and a rule breaks, abort: lift the drain at once.
 * The report (`GET /v1/drills/{id}`) holds the timeline, convergence times, each prediction next
 * to what was observed, and pass/fail for every rule. It is saved in the state directory.
 */
import dgram from 'node:dgram';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import type { HealthState, Override } from '../policy/health-view.js';
import type { OverrideBackend } from '../cluster/overrides.js';
import type { SnapshotHolder } from '../state/snapshot.js';
import type { AuditLog } from '../state/audit.js';
import { writeFileAtomic } from '../state/atomic.js';
import { clientFromText, clientSubnetOption } from '../policy/client.js';
import { presentationToKey } from '../proto/name.js';
import { RRType, typeFromName } from '../proto/types.js';
import { encodeQuery, parseResponse, rcodeName } from '../proto/wire.js';
import { formatRdata } from '../proto/rdata.js';
import { answerText, preview, type Candidate, type DrillTarget, type Preview, type SafetyCheck } from './preview.js';

/** Judged answers a pair needs on a node before its shares are compared with the prediction. */
export const MIN_SAMPLES = 20;
/** The least difference in share that fails a drill ({@link SHARE_SIGMAS} standard errors when that is more). */
export const SHARE_TOLERANCE = 0.15;
/**
 * Standard errors of slack: a drill checks dozens of shares on each node, so a healthy one must
 * not fail by chance (5 σ: about one check in a million under the normal approximation).
 */
export const SHARE_SIGMAS = 5;
/** A peer's answers this long after the drain starts are not judged (at most a quarter of the drill). */
export const PEER_SETTLE_MS = 2000;
/** Answers this close to the end of the drain are not judged (the drain lifts at its expiry). */
const END_MARGIN_MS = 250;
/** Violations kept in a report. */
const MAX_VIOLATIONS = 20;

/** The answer types a drill compares: addresses, and the CNAME a record may answer with. */
const OBSERVED_TYPES = new Set<number>([RRType.A, RRType.AAAA, RRType.CNAME]);

/**
 * An observed record in the form {@link answerText} gives a candidate's values: the same RDATA
 * formatter (proto/rdata.ts), lowercased.
 */
function observedText(type: number, rdata: Buffer): string {
  return formatRdata(type, rdata).toLowerCase();
}

const keyOf = (values: readonly string[]): string => [...values].sort().join(' ');

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
  before: Candidate[];
  predicted: Candidate[];
  /** Keys ({@link keyOf}) of the predicted answers. */
  keys: Set<string>;
  /** Whether an answer before the drill can hold the target (else it cannot "come back"). */
  holdsTarget: boolean;
}

/** What one node answered for one pair. */
interface Seen {
  gone: number | null;
  back: number | null;
  /** Judged answers, by answer key. */
  counts: Map<string, number>;
  samples: number;
  unexpected: number;
}

export interface Observation {
  name: string;
  type: string;
  country: string;
  subnet: string;
  before: Candidate[];
  predicted: Candidate[];
  /** Judged answers over every node, with their counts and shares. */
  observed: { answer: string[]; count: number; share: number }[];
  samples: number;
  /** Null when no answer was judged; false when one was not predicted or a share was off. */
  matches_prediction: boolean | null;
  /** Why it did not match. */
  detail?: string;
  nodes: { node: string; samples: number; unexpected: number; shares_checked: boolean }[];
  gone_after_ms: number | null;
  back_after_ms: number | null;
}

export interface Violation {
  node: string;
  name: string;
  type: string;
  country: string;
  subnet: string;
  answer: string[];
  at_ms: number;
  why: string;
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
  observations: Observation[];
  /** Answers that were not predicted (the first {@link MAX_VIOLATIONS}). */
  violations: Violation[];
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

const pct = (x: number): string => `${Math.round(x * 1000) / 10}%`;

/** Compares what the nodes answered for one pair with the preview's candidates. */
function judge(p: Pair, nodes: { node: string; seen: Seen }[]): Observation {
  const total = new Map<string, number>();
  let samples = 0;
  const problems: string[] = [];
  const perNode = nodes.map(({ node, seen }) => {
    samples += seen.samples;
    for (const [k, c] of seen.counts) total.set(k, (total.get(k) ?? 0) + c);
    if (seen.unexpected > 0) {
      const odd = [...seen.counts].filter(([k]) => !p.keys.has(k)).map(([k]) => k || '(empty)');
      problems.push(
        `${p.name} ${p.type} from ${p.country} (${p.subnet}) on node ${node} answered ${odd.join(' | ')}, not one of the predicted ${p.predicted.map((c) => c.answer.join(' ')).join(' | ') || '(nothing)'}`,
      );
    }
    const sharesChecked = seen.samples >= MIN_SAMPLES;
    if (sharesChecked) {
      for (const c of p.predicted) {
        const observed = (seen.counts.get(keyOf(c.answer)) ?? 0) / seen.samples;
        const tolerance = Math.max(SHARE_TOLERANCE, SHARE_SIGMAS * Math.sqrt((c.share * (1 - c.share)) / seen.samples));
        if (Math.abs(observed - c.share) > tolerance) {
          problems.push(
            `${p.name} ${p.type} from ${p.country} on node ${node}: ${c.answer.join(' ')} got ${pct(observed)} of ${seen.samples} answers, predicted ${pct(c.share)} ± ${pct(tolerance)}`,
          );
        }
      }
    }
    return { node, samples: seen.samples, unexpected: seen.unexpected, shares_checked: sharesChecked };
  });
  const observed = [...total]
    .map(([k, count]) => ({ answer: k ? k.split(' ') : [], count, share: samples ? count / samples : 0 }))
    .sort((a, b) => b.count - a.count);
  return {
    name: p.name,
    type: p.type,
    country: p.country,
    subnet: p.subnet,
    before: p.before,
    predicted: p.predicted,
    observed,
    samples,
    matches_prediction: problems.length > 0 ? false : samples === 0 ? null : true,
    ...(problems.length > 0 ? { detail: problems.join('; ') } : {}),
    nodes: perNode,
    gone_after_ms: nodes[0]?.seen.gone ?? null,
    back_after_ms: nodes[0]?.seen.back ?? null,
  };
}

/** A target as text: `region eu-west`, `endpoints web-euw/euw-a, web-euw/euw-b`. */
export function targetText(t: DrillTarget): string {
  const parts: string[] = [];
  if (t.region) parts.push(`region ${t.region}`);
  if (t.endpoints?.length) parts.push(`endpoint${t.endpoints.length > 1 ? 's' : ''} ${t.endpoints.join(', ')}`);
  return parts.join(' and ') || '(nothing)';
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
      violations: [],
      empty_or_servfail: 0,
      checks: pv.safety,
      preview: { capacity: pv.capacity, safety: pv.safety, changed_answers: pv.changed_answers },
    };
    const event = (e: string, detail?: string): void => void report.timeline.push({ at: new Date().toISOString(), event: e, ...(detail ? { detail } : {}) });
    if (pv.safety.some((c) => !c.pass)) {
      report.state = 'refused';
      report.finished_at = report.started_at;
      event(
        'refused',
        pv.safety
          .filter((c) => !c.pass)
          .map((c) => c.detail)
          .join('; '),
      );
      this.ctx.audit.record({ who: req.by, action: 'drill.refused', target: `drill:${id}`, before: null, after: null, detail: { target: req.target } });
      this.#drills.set(id, { report, stop: () => undefined });
      this.#save(report);
      return report;
    }

    // Every (record, vantage point) whose candidates change, or whose answers hold the target now.
    const targetValues = new Set<string>();
    for (const zone of snap.catalog.zones)
      for (const pool of zone.policies?.pools.values() ?? [])
        for (const ep of pool.endpoints) if (ep.region === req.target.region || req.target.endpoints?.includes(ep.key)) targetValues.add(answerText(ep));
    const pairs: Pair[] = [];
    for (const rec of pv.records) {
      for (const v of rec.vantage) {
        const holdsTarget = v.before.some((c) => c.answer.some((x) => targetValues.has(x)));
        if (v.changed || holdsTarget) {
          pairs.push({
            name: rec.name,
            type: rec.type,
            country: v.country,
            subnet: v.subnet,
            before: v.before,
            predicted: v.after,
            keys: new Set(v.after.map((c) => keyOf(c.answer))),
            holdsTarget,
          });
        }
      }
    }

    // Applied here at once (this node's answers change now), then stored; a store that fails is in the timeline.
    const setOverride = (target: { endpoint: string } | { region: string }, override: Override | null): void => {
      this.ctx.health.setOverride(target, override);
      this.ctx.overrides
        ?.set(target, override)
        .catch((err: Error) =>
          event('override not stored', `${override ? 'drain' : 'lift'} of ${JSON.stringify(target)}: ${err.message}; it holds on this node only`),
        );
    };
    const expiresAt = t0 + req.durationS * 1000;
    for (const target of overrideTargets(req.target))
      setOverride(target, { kind: 'drain', reason: `drill ${id}: ${req.reason}`, by: req.by, expiresAt, setAt: t0 } as Override);
    this.ctx.audit.record({
      who: req.by,
      action: 'drill.start',
      target: `drill:${id}`,
      before: null,
      after: 'running',
      detail: { target: req.target, duration_s: req.durationS },
    });

    // The nodes watched: this one, and in a cluster every other node (each keeps its own record
    // of when each answer dropped the target and took it back).
    const self = { id: `${this.ctx.dns.host}:${this.ctx.dns.port}`, host: this.ctx.dns.host, port: this.ctx.dns.port };
    const watched = [self, ...(this.ctx.peers?.() ?? [])];
    report.nodes = watched.map((n) => ({ node: n.id, drained_after_ms: null, restored_after_ms: null }));
    event('drained', `${targetText(req.target)} until ${report.ends_at}; watching ${pairs.length} record × vantage answers on ${watched.length} node(s)`);
    const perNode: Seen[][] = watched.map(() => pairs.map(() => ({ gone: null, back: null, counts: new Map(), samples: 0, unexpected: 0 })));
    const settle = (n: number): number => (n === 0 ? 0 : Math.min(PEER_SETTLE_MS, (req.durationS * 1000) / 4));
    const sockets = new Map<'udp4' | 'udp6', dgram.Socket>();
    const pending = new Map<number, (answers: string[] | null, rcode: string, cookie: Buffer | null) => void>();
    // DNS Cookies (RFC 7873 §5.1): each node watched is sent the cookie it last gave back, so a
    // drill's many questions (every 100 ms per record and vantage point) carry a valid server
    // cookie and response rate limiting never holds them back (dns/rrl.ts), also on a peer that
    // sees this node's address and not loopback.
    // Until a node has answered once (and so given its cookie), it is asked one question a tick.
    const clientCookie = randomBytes(8);
    const cookies: Buffer[] = watched.map(() => clientCookie);
    const greeted: boolean[] = watched.map(() => false);
    const socketFor = (host: string): dgram.Socket => {
      const family = host.includes(':') ? 'udp6' : 'udp4';
      let sock = sockets.get(family);
      if (sock) return sock;
      sock = dgram.createSocket(family);
      sock.on('error', () => undefined);
      sock.on('message', (msg) => {
        // The server's own codec (proto/wire.ts); a datagram that is not a well-formed response to one of our IDs is not ours.
        const res = parseResponse(msg);
        if (typeof res === 'string') return;
        const cb = pending.get(res.id);
        if (!cb) return;
        pending.delete(res.id);
        cb(
          res.answer.filter((a) => OBSERVED_TYPES.has(a.type)).map((a) => observedText(a.type, a.rdata)),
          rcodeName(res.rcode),
          res.cookie,
        );
      });
      sockets.set(family, sock);
      return sock;
    };
    let nextId = 1;
    const ask = (pair: Pair, node: { host: string; port: number }, n: number): Promise<{ answers: string[] | null; rcode: string }> =>
      new Promise((resolve) => {
        let qid = nextId++ & 0xffff;
        while (pending.has(qid)) qid = nextId++ & 0xffff;
        const qtype = typeFromName(pair.type);
        const client = clientFromText(pair.subnet);
        if (qtype === undefined || !client) {
          resolve({ answers: null, rcode: 'UNASKABLE' });
          return;
        }
        const timer = setTimeout(() => {
          pending.delete(qid);
          resolve({ answers: null, rcode: 'TIMEOUT' });
        }, 1000);
        pending.set(qid, (answers, rcode, cookie) => {
          clearTimeout(timer);
          if (cookie && cookie.length > 8 && cookie.subarray(0, 8).equals(clientCookie)) cookies[n] = cookie;
          resolve({ answers, rcode });
        });
        // RFC 7871 §6: the vantage point's subnet travels as a Client Subnet option.
        const msg = encodeQuery({
          id: qid,
          qkey: presentationToKey(pair.name, ''),
          qtype,
          udpSize: 1232,
          clientSubnet: clientSubnetOption(client),
          cookie: cookies[n]!,
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
      const slowest = (k: 'drained_after_ms' | 'restored_after_ms'): number | null =>
        report.nodes.every((n) => n[k] !== null) ? Math.max(...report.nodes.map((n) => n[k]!)) : null;
      const drainedAll = slowest('drained_after_ms');
      const restoredAll = slowest('restored_after_ms');
      const many = report.nodes.length > 1 ? ` on all ${report.nodes.length} nodes` : '';
      report.observations = pairs.map((p, i) =>
        judge(
          p,
          watched.map((w, n) => ({ node: w.id, seen: perNode[n]![i]! })),
        ),
      );
      const judged = report.observations.reduce((n, o) => n + o.samples, 0);
      const failed = report.observations.filter((o) => o.matches_prediction === false);
      const checkedShares = report.observations.filter((o) => o.nodes.some((x) => x.shares_checked)).length;
      const rule = `every answer must be a predicted candidate; shares within max(${SHARE_TOLERANCE}, ${SHARE_SIGMAS} standard errors) once a pair has ${MIN_SAMPLES} answers on a node`;
      report.checks = [
        ...pv.safety,
        {
          rule: 'converged',
          pass: drainedAll !== null,
          detail:
            drainedAll !== null
              ? `every watched answer dropped the target within ${drainedAll} ms${many}`
              : `some answers never dropped the target${report.nodes
                  .filter((n) => n.drained_after_ms === null)
                  .map((n) => ` (node ${n.node})`)
                  .join('')}`,
        },
        { rule: 'no_client_without_answer', pass: report.empty_or_servfail === 0, detail: `${report.empty_or_servfail} empty, SERVFAIL or missing answers` },
        {
          rule: 'traffic_returned',
          pass: state === 'done' && restoredAll !== null,
          detail:
            restoredAll !== null
              ? `the target was back in every answer ${restoredAll} ms after the end${many}`
              : 'the target did not come back in every answer',
        },
        {
          rule: 'predictions',
          pass: failed.length === 0,
          detail:
            failed.length === 0
              ? `${judged} answers for ${report.observations.length} record × vantage pairs${many} were all predicted candidates; shares checked for ${checkedShares} pairs (${rule})`
              : `${failed.length} of ${report.observations.length} record × vantage pairs broke the preview: ${failed
                  .slice(0, 3)
                  .map((o) => o.detail)
                  .join('; ')}${failed.length > 3 ? '; …' : ''} (${rule})`,
        },
      ];
      this.ctx.audit.record({
        who: req.by,
        action: `drill.${state}`,
        target: `drill:${id}`,
        before: 'running',
        after: state,
        ...(why ? { detail: { why } } : {}),
      });
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
          (greeted[n] ? pairs : pairs.slice(0, 1)).map(async (p, i) => {
            const sentAt = Date.now();
            const { answers, rcode } = await ask(p, node, n);
            greeted[n] = true;
            if (answers === null || rcode !== 'NOERROR' || answers.length === 0) {
              report.empty_or_servfail++;
              return;
            }
            const hasTarget = answers.some((a) => targetValues.has(a));
            const mine = perNode[n]![i]!;
            if (!ended) {
              if (!hasTarget && mine.gone === null) mine.gone = Date.now() - t0;
              // Judge it: sent after this node's settling time, answered before the drain lifts.
              if (sentAt - t0 >= settle(n) && Date.now() < expiresAt - END_MARGIN_MS) {
                const key = keyOf(answers);
                mine.samples++;
                mine.counts.set(key, (mine.counts.get(key) ?? 0) + 1);
                if (!p.keys.has(key)) {
                  mine.unexpected++;
                  if (report.violations.length < MAX_VIOLATIONS) {
                    report.violations.push({
                      node: node.id,
                      name: p.name,
                      type: p.type,
                      country: p.country,
                      subnet: p.subnet,
                      answer: answers.slice().sort(),
                      at_ms: sentAt - t0,
                      why: hasTarget ? 'still holds the drained target' : 'not one of the predicted candidates',
                    });
                  }
                }
              }
            } else if ((hasTarget || !p.holdsTarget) && mine.back === null) {
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
      // The drain lifted in thought: what would the drill's target take away now? Records that
      // have nothing usable even without the drain (their own targets died) are not the drill's
      // doing, and lifting it would not give them an answer.
      const withoutDrill = this.ctx.health.without((o) => o.reason?.startsWith(`drill ${id}:`) ?? false);
      const check = preview(this.ctx.holder.current, req.target, { minHealthyRegions: req.minHealthyRegions, health: withoutDrill, safetyOnly: true });
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
        const r = upgradeReport(JSON.parse(fs.readFileSync(path.join(dir, n), 'utf8')) as DrillReport);
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

/**
 * A report saved by an earlier version (before candidates with shares): its one predicted and
 * observed answer become one candidate each, so it keeps its documented shape
 * (admin/api-schemas.ts `DrillReport`) and still shows what was seen.
 */
function upgradeReport(r: DrillReport): DrillReport {
  if (Array.isArray(r.violations)) return r;
  const one = (answer: unknown): Candidate[] =>
    Array.isArray(answer) ? [{ answer: [...(answer as string[])].sort(), share: 1, regions: [], all_down: false }] : [];
  const old = (r.observations ?? []) as unknown as {
    name: string;
    type: string;
    country: string;
    subnet: string;
    before: unknown;
    predicted: unknown;
    observed: unknown;
    matches_prediction: boolean | null;
    gone_after_ms: number | null;
    back_after_ms: number | null;
  }[];
  r.observations = old.map((o) => ({
    name: o.name,
    type: o.type,
    country: o.country,
    subnet: o.subnet,
    before: one(o.before),
    predicted: one(o.predicted),
    observed: one(o.observed).map((c) => ({ answer: c.answer, count: 1, share: 1 })),
    samples: Array.isArray(o.observed) ? 1 : 0,
    matches_prediction: o.matches_prediction,
    detail: 'saved by an earlier version, which kept one answer per prediction and observation',
    nodes: [],
    gone_after_ms: o.gone_after_ms,
    back_after_ms: o.back_after_ms,
  }));
  r.violations = [];
  return r;
}
