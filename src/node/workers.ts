/**
 * @module node/workers
 * A node's DNS workers (`meridian serve --workers N`): N child processes (node/dns-worker.ts) that
 * answer DNS on one port, each bound with SO_REUSEPORT so the kernel spreads queries (by source
 * address and port) and TCP connections over them. The node process keeps everything else — the
 * zones source, health checks and votes, overrides, drills, the admin API — and hands the workers
 * the state they answer from (state/replica.ts), so checks run once per node and every worker
 * answers from the same snapshot lineage (the same versions, in the same order).
 *
 * What {@link DnsWorkers} guarantees:
 *   - every change the holder reports (a swap, a health verdict, an override, the latency table)
 *     is sent to every worker at once, coalesced within one turn of the event loop;
 *   - {@link DnsWorkers.settle} resolves when every worker that may answer a query serves the
 *     state as it is now: the admin API holds each write's response until then
 *     (admin/app.ts), so a write is answered by every worker on the very next query. A worker
 *     that does not confirm within `ackTimeoutMs` is killed and replaced (its replacement starts
 *     from the current state), so a wedged worker cannot hold writes up for long; one that is
 *     still starting is waited for (its start timeout bounds it);
 *   - a worker that dies is replaced (at once, then with capped backoff if replacements keep
 *     dying), logged, and counted (`meridian_dns_worker_restarts_total`, `/readyz`);
 *   - {@link DnsWorkers.stop} drains them all: each closes its sockets, TCP peers get 2 s, and a
 *     worker that has not exited after 8 s is killed.
 *
 * The port is checked (bound and released without SO_REUSEPORT) before any worker binds it, so a
 * port another server holds is an error at start, as it is without workers, and never a silent
 * share with it; port 0 picks one free port for UDP and TCP that every worker then binds.
 */
import { fork, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { QueryMetrics } from '../admin/query-metrics.js';
import type { WorkerReport } from '../admin/metrics.js';
import { formatHostPort } from '../address.js';
import { Backoff } from '../backoff.js';
import type { DnsAddress, UdpInfo } from '../dns/server.js';
import { createError } from '../errors.js';
import type { Logger } from '../log.js';
import { ReplicaFeed, type ReplicaCookieSecret } from '../state/replica.js';
import type { SnapshotHolder } from '../state/snapshot.js';
import type { FromWorker, ToWorker, WorkerConfig, WorkerStats } from './worker-protocol.js';

export interface DnsWorkersOptions {
  readonly count: number;
  readonly holder: SnapshotHolder;
  readonly log: Logger;
  /** The DNS port as asked (0: pick a free one). */
  readonly port: number;
  readonly config: Omit<WorkerConfig, 'worker' | 'port'>;
  /** The node's DNS cookie secret, which every worker gets (state/replica.ts). */
  readonly cookieSecret?: () => ReplicaCookieSecret;
  /** How long a worker may take to confirm an update before it is replaced (default 5 s). */
  readonly ackTimeoutMs?: number;
  /** How long a worker may take to start serving (default 30 s). */
  readonly startTimeoutMs?: number;
}

/** The worker script, beside this module (dist/node/dns-worker.js). */
const ENTRY = fileURLToPath(new URL('./dns-worker.js', import.meta.url));

/** One worker's place: its number stays when its process is replaced. */
class Slot {
  child: ChildProcess | null = null;
  pid = 0;
  state: 'starting' | 'ready' | 'down' = 'down';
  /** The newest state seq the process confirmed. */
  acked = 0;
  waiters: { seq: number; done: () => void }[] = [];
  restarts = 0;
  /** What replaced processes of this slot answered (their last report). */
  readonly retired = new QueryMetrics();
  /** Signatures the replaced processes of this slot put into answers. */
  readonly retiredSignatures = { made: 0, cached: 0 };
  last: WorkerStats | null = null;
  udp: UdpInfo | null = null;
  readyAt = 0;
  failure: { code: string; message: string } | null = null;
  respawn: NodeJS.Timeout | null = null;
  readonly backoff = new Backoff(100, 5_000);
  /** Settles the first start (resolve: serving; reject: failed). */
  started: { resolve: () => void; reject: (err: Error) => void } | null = null;
  constructor(readonly index: number) {}

  /** Resolves every waiter whose seq the process has reached (all of them when it is gone). */
  release(all = false): void {
    const keep: typeof this.waiters = [];
    for (const w of this.waiters) {
      if (all || this.acked >= w.seq) w.done();
      else keep.push(w);
    }
    this.waiters = keep;
  }
}

export class DnsWorkers {
  readonly #opts: DnsWorkersOptions;
  readonly #log: Logger;
  readonly #feed: ReplicaFeed;
  readonly #slots: Slot[];
  #seq = 0;
  #port = 0;
  #dirty = false;
  #stopping = false;
  #unsubscribe: (() => void) | null = null;
  #statsId = 0;
  readonly #stats = new Map<number, (s: WorkerStats | null) => void>();

  constructor(opts: DnsWorkersOptions) {
    this.#opts = opts;
    this.#log = opts.log;
    this.#feed = new ReplicaFeed(opts.holder, opts.cookieSecret ? { cookieSecret: opts.cookieSecret } : {});
    this.#slots = Array.from({ length: opts.count }, (_, i) => new Slot(i + 1));
  }

  /** Workers configured. */
  get count(): number {
    return this.#slots.length;
  }

  /** Workers serving now. */
  serving(): number {
    return this.#slots.filter((s) => s.state === 'ready').length;
  }

  /** The process ids of the workers running now, by worker number (tests, logs). */
  pids(): Map<number, number> {
    return new Map(this.#slots.filter((s) => s.child).map((s) => [s.index, s.pid]));
  }

  /** Checks the port, starts every worker and resolves once all serve; on failure stops them and throws MRD_ERR_LISTEN or MRD_ERR_WORKER. */
  async start(): Promise<DnsAddress> {
    if (!fs.existsSync(ENTRY)) throw createError('MRD_ERR_WORKER', 'start', `${ENTRY} is missing; DNS workers run from the built dist/ (npm run build)`);
    const host = this.#opts.config.host;
    this.#port = await reservePort(host, this.#opts.port);
    this.#unsubscribe = this.#opts.holder.onChange(() => this.#schedule());
    this.#flush();
    try {
      await Promise.all(
        this.#slots.map(
          (slot) =>
            new Promise<void>((resolve, reject) => {
              slot.started = { resolve, reject };
              this.#spawn(slot);
            }),
        ),
      );
    } catch (err) {
      await this.stop();
      throw err;
    }
    return { host, port: this.#port };
  }

  /** Sends what changed outside the snapshot holder (a cookie secret rotation) to every worker. */
  refresh(): void {
    this.#schedule();
  }

  #schedule(): void {
    if (this.#dirty || this.#stopping) return;
    this.#dirty = true;
    // Changes made in one synchronous burst (a vote batch, a drill's overrides) go out as one update.
    queueMicrotask(() => {
      if (this.#dirty) this.#flush();
    });
  }

  /** Sends what changed to every running worker. */
  #flush(): void {
    this.#dirty = false;
    const update = this.#feed.next();
    if (!update) return;
    const seq = ++this.#seq;
    for (const slot of this.#slots) if (slot.child) this.#send(slot.child, { t: 'state', seq, update });
  }

  #send(child: ChildProcess, m: ToWorker): void {
    if (!child.connected) return;
    child.send(m, (err) => {
      if (err) this.#log.debug({ err }, 'dns worker message not delivered');
    });
  }

  #spawn(slot: Slot): void {
    slot.respawn = null;
    if (this.#stopping) return;
    // A starting worker gets everything as of the last update the others got, then every update after.
    if (this.#dirty) this.#flush();
    const child = fork(ENTRY, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced', execArgv: [] });
    slot.child = child;
    slot.pid = child.pid ?? 0;
    slot.state = 'starting';
    slot.acked = 0;
    slot.failure = null;
    slot.last = null;
    slot.udp = null;
    const timeout = setTimeout(() => {
      if (slot.child !== child || slot.state === 'ready') return;
      slot.failure ??= { code: 'MRD_ERR_WORKER', message: `did not start serving within ${this.#opts.startTimeoutMs ?? 30_000} ms` };
      child.kill('SIGKILL');
    }, this.#opts.startTimeoutMs ?? 30_000);
    timeout.unref();
    child.on('message', (raw) => this.#onMessage(slot, child, raw as FromWorker));
    child.on('exit', (code, signal) => {
      clearTimeout(timeout);
      this.#onExit(slot, child, code, signal);
    });
    child.on('error', (err) => this.#log.debug({ err, worker: slot.index }, 'dns worker process error'));
    const config: WorkerConfig = { ...this.#opts.config, worker: slot.index, port: this.#port };
    this.#send(child, { t: 'init', seq: this.#seq, config, state: this.#feed.full() });
  }

  #onMessage(slot: Slot, child: ChildProcess, m: FromWorker): void {
    if (slot.child !== child) return;
    switch (m.t) {
      case 'ready': {
        slot.state = 'ready';
        slot.acked = Math.max(slot.acked, m.seq);
        slot.udp = m.udp;
        slot.readyAt = Date.now();
        slot.release();
        if (slot.started) {
          slot.started.resolve();
          slot.started = null;
          this.#log.info({ worker: slot.index, worker_pid: slot.pid }, 'dns worker serving');
        } else {
          this.#log.info({ worker: slot.index, worker_pid: slot.pid, restarts: slot.restarts }, 'dns worker replaced');
        }
        return;
      }
      case 'applied':
        slot.acked = Math.max(slot.acked, m.seq);
        slot.release();
        return;
      case 'failed':
        slot.failure = { code: m.code, message: m.message };
        return;
      case 'stats': {
        slot.last = m.stats;
        slot.udp = m.stats.udp ?? slot.udp;
        const done = this.#stats.get(m.id);
        this.#stats.delete(m.id);
        done?.(m.stats);
        return;
      }
    }
  }

  #onExit(slot: Slot, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (slot.child !== child) return;
    slot.child = null;
    const wasReady = slot.state === 'ready';
    slot.state = 'down';
    if (slot.last) {
      slot.retired.add(slot.last.queries);
      slot.retiredSignatures.made += slot.last.signatures.made;
      slot.retiredSignatures.cached += slot.last.signatures.cached;
    }
    slot.last = null;
    slot.udp = null;
    // A worker that is gone answers nothing stale: nobody waits for it.
    slot.release(true);
    if (slot.started) {
      const f = slot.failure;
      const err =
        f && /^E[A-Z]+$/.test(f.code)
          ? createError('MRD_ERR_LISTEN', `dns ${formatHostPort(this.#opts.config.host, this.#port)} (worker ${slot.index})`, f.message)
          : createError('MRD_ERR_WORKER', String(slot.index), f ? f.message : `exited (${signal ?? `code ${code}`}) before serving`);
      slot.started.reject(err);
      slot.started = null;
      return;
    }
    if (this.#stopping) return;
    slot.restarts++;
    // One that served a while gets replaced at once; one that keeps dying, with growing pauses.
    if (wasReady && Date.now() - slot.readyAt > 10_000) slot.backoff.reset();
    const delayMs = slot.backoff.next();
    this.#log.warn(
      {
        worker: slot.index,
        worker_pid: slot.pid,
        code,
        signal,
        restarts: slot.restarts,
        retry_in_ms: delayMs,
        ...(slot.failure ? { reason: slot.failure.message } : {}),
      },
      'dns worker exited; starting a new one',
    );
    slot.respawn = setTimeout(() => this.#spawn(slot), delayMs);
  }

  /**
   * Resolves when every worker that may answer serves the state as it is now (see the module
   * comment). A worker that does not confirm in time is killed; its replacement starts current.
   */
  settle(): Promise<void> {
    if (this.#dirty) this.#flush();
    const seq = this.#seq;
    const ackTimeoutMs = this.#opts.ackTimeoutMs ?? 5_000;
    return Promise.all(
      this.#slots.map((slot) => {
        if (!slot.child || slot.acked >= seq) return undefined;
        const child = slot.child;
        return new Promise<void>((resolve) => {
          // A worker still starting (building its zones) is waited for, not killed: its own start
          // timeout bounds it, and killing it would only start the building over.
          const timer =
            slot.state === 'starting'
              ? undefined
              : setTimeout(() => {
                  if (slot.child !== child) return;
                  this.#log.error({ worker: slot.index, worker_pid: slot.pid, seq }, 'dns worker did not confirm an update in time; replacing it');
                  child.kill('SIGKILL');
                }, ackTimeoutMs);
          timer?.unref();
          slot.waiters.push({
            seq,
            done: () => {
              clearTimeout(timer);
              resolve();
            },
          });
        });
      }),
    ).then(() => undefined);
  }

  /** Every worker's counters, asked now (a worker that does not answer within 1 s reports its last). */
  async report(): Promise<WorkerReport[]> {
    await Promise.all(
      this.#slots.map((slot) => {
        const child = slot.child;
        if (!child || slot.state !== 'ready') return undefined;
        const id = ++this.#statsId;
        return new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            this.#stats.delete(id);
            resolve();
          }, 1_000);
          this.#stats.set(id, () => {
            clearTimeout(timer);
            resolve();
          });
          this.#send(child, { t: 'stats', id });
        });
      }),
    );
    return this.#slots.map((slot) => ({
      worker: slot.index,
      up: slot.state === 'ready',
      restarts: slot.restarts,
      queries: slot.last ? QueryMetrics.sum([slot.retired.dump(), slot.last.queries]).dump() : slot.retired.dump(),
      cpuSeconds: slot.last?.cpuSeconds ?? 0,
      residentBytes: slot.last?.residentBytes ?? 0,
      udp: slot.udp,
      signatures: {
        made: slot.retiredSignatures.made + (slot.last?.signatures.made ?? 0),
        cached: slot.retiredSignatures.cached + (slot.last?.signatures.cached ?? 0),
      },
    }));
  }

  /** Drains every worker and resolves when all have exited. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    await Promise.all(
      this.#slots.map((slot) => {
        if (slot.respawn) clearTimeout(slot.respawn);
        slot.respawn = null;
        const child = slot.child;
        if (!child) return undefined;
        return new Promise<void>((resolve) => {
          const kill = setTimeout(() => child.kill('SIGKILL'), 8_000);
          child.once('exit', () => {
            clearTimeout(kill);
            resolve();
          });
          if (child.connected) this.#send(child, { t: 'stop' });
          else child.kill('SIGTERM');
        });
      }),
    );
  }
}

/**
 * Binds host:port for UDP and TCP without SO_REUSEPORT and lets go: the port every worker then
 * binds. A port held by another server fails here, as it would without workers; port 0 picks one
 * free for both.
 */
async function reservePort(host: string, port: number): Promise<number> {
  const type = host.includes(':') ? 'udp6' : 'udp4';
  for (let attempt = 0; ; attempt++) {
    const udp = dgram.createSocket({ type, ipv6Only: type === 'udp6' });
    const chosen = await new Promise<number>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(port, host, () => resolve(udp.address().port));
    }).catch((err: Error) => {
      udp.close();
      throw Object.assign(createError('MRD_ERR_LISTEN', `udp ${formatHostPort(host, port)}`, err.message), { cause: err });
    });
    const tcp = net.createServer();
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen({ host, port: chosen, ipv6Only: type === 'udp6', exclusive: true }, () => resolve());
      });
      await new Promise((r) => tcp.close(r));
      await new Promise((r) => udp.close(() => r(undefined)));
      return chosen;
    } catch (err) {
      await new Promise((r) => udp.close(() => r(undefined)));
      if (port !== 0 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 20)
        throw Object.assign(createError('MRD_ERR_LISTEN', `tcp ${formatHostPort(host, chosen)}`, (err as Error).message), { cause: err });
    }
  }
}
