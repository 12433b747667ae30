/**
 * @module health/pending-votes
 * The batch-and-flush both vote transports share (health/remote.ts to a node's admin API,
 * cluster/votes.ts to etcd): votes wait here, only the newest per checker and endpoint (each
 * keeps its own `at`), until a timer sends them all at once. What sending means, how often, and
 * whether a failed send is retried are each transport's own.
 */
import type { Vote } from './votes.js';

export class PendingVotes {
  /** The newest vote per checker and endpoint, in the order the keys first came. */
  readonly #votes = new Map<string, Vote>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(
    /** Sends the pending votes (called by the timer). */
    private readonly send: () => void,
    /** The timer does not keep the process alive. */
    private readonly unref: boolean,
  ) {}

  get size(): number {
    return this.#votes.size;
  }

  /** Adds votes, each replacing a pending one of the same checker and endpoint. */
  add(votes: readonly Vote[]): void {
    for (const v of votes) this.#votes.set(`${v.checker}\0${v.endpoint}`, v);
  }

  /** Sends in `ms` unless a send is already due (or {@link close} was called). */
  schedule(ms: number): void {
    if (this.#timer || this.#closed) return;
    this.#timer = setTimeout(this.send, ms);
    if (this.unref) this.#timer.unref();
  }

  /** Stops the timer (a send due is not made). */
  cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Stops the timer and hands over every pending vote; none is pending after it. */
  take(): Map<string, Vote> {
    this.cancel();
    const batch = new Map(this.#votes);
    this.#votes.clear();
    return batch;
  }

  /** Puts back votes that were not delivered, except where a newer one has come meanwhile. */
  restore(batch: ReadonlyMap<string, Vote>): void {
    for (const [k, v] of batch) if (!this.#votes.has(k)) this.#votes.set(k, v);
  }

  /** Stops the timer for good: later votes wait for an explicit send. */
  close(): void {
    this.cancel();
    this.#closed = true;
  }
}
