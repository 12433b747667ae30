/**
 * @module health/service
 * Wires health checking into a process. `meridian serve` runs a checker for its own region whose
 * votes go straight into the node's vote store, which sets the health view the policies read;
 * votes from standalone checkers arrive through the admin API into the same store.
 * `meridian checker` runs only a checker, publishing to a node. Both follow the zones: when a
 * snapshot is swapped in, the endpoints to check and to judge are updated.
 */
import { Checker } from './checker.js';
import { endpointsOf } from './endpoints.js';
import { createProber } from './probe.js';
import { HealthStateFile } from './state-file.js';
import { VoteStore, type Vote } from './votes.js';
import type { Prober } from './probe.js';
import type { Snapshot, SnapshotHolder } from '../state/snapshot.js';
import type { Logger } from '../log.js';

export interface HealthServiceOptions {
  readonly holder: SnapshotHolder;
  /** This process's region; its checker votes under this id. */
  readonly region: string;
  readonly log: Logger;
  /** Run checks from this process (default true). */
  readonly runChecks?: boolean;
  /** Judge votes and set the health view (a serving node); false for a standalone checker. */
  readonly judge?: boolean;
  /** Where this checker's votes go when not judging here. */
  readonly publish?: (votes: Vote[]) => void;
  /** Persist votes here for a warm start. */
  readonly stateDir?: string | undefined;
  readonly prober?: Prober;
  /** Whether the checker runs from the start (default true); see {@link HealthService.setActive}. */
  readonly active?: boolean;
}

export class HealthService {
  readonly store: VoteStore | null;
  readonly checker: Checker | null;
  readonly #prober: Prober | null;
  readonly #stateFile: HealthStateFile | null;
  readonly #holder: SnapshotHolder;
  #unsubscribe: (() => void) | undefined;
  #active: boolean;

  constructor(opts: HealthServiceOptions) {
    this.#holder = opts.holder;
    this.#active = opts.active ?? true;
    const judge = opts.judge ?? true;
    this.store = judge ? new VoteStore(opts.holder.health, opts.log.child({ component: 'health' })) : null;
    const runChecks = opts.runChecks ?? true;
    this.#prober = runChecks ? (opts.prober ?? createProber()) : null;
    const store = this.store;
    const publish = opts.publish ?? ((votes: Vote[]) => void store?.record(votes));
    this.checker = runChecks
      ? new Checker({ region: opts.region, prober: this.#prober!, publish, log: opts.log.child({ component: 'checker', region: opts.region }) })
      : null;
    this.#stateFile = judge && opts.stateDir ? new HealthStateFile(opts.stateDir, this.store!, opts.log.child({ component: 'health-state' })) : null;
  }

  start(): void {
    const apply = (s: Snapshot): void => {
      const endpoints = endpointsOf(s);
      this.store?.setEndpoints(endpoints);
      this.checker?.setEndpoints(this.#active ? endpoints : []);
    };
    apply(this.#holder.current);
    this.#stateFile?.load();
    this.#stateFile?.start();
    this.store?.start();
    this.#unsubscribe = this.#holder.onSwap(apply);
  }

  /**
   * Starts or pauses this process's checks (cluster mode: only the region's active checker
   * probes; the others stand by with their checker paused). Votes already cast stay.
   */
  setActive(active: boolean): void {
    if (active === this.#active) return;
    this.#active = active;
    this.checker?.setEndpoints(active ? endpointsOf(this.#holder.current) : []);
  }

  get active(): boolean {
    return this.#active && this.checker !== null;
  }

  async stop(): Promise<void> {
    this.#unsubscribe?.();
    this.checker?.stop();
    this.store?.stop();
    this.#stateFile?.stop();
    await this.#prober?.close();
  }
}
