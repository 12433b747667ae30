/**
 * @module backoff
 * Capped exponential backoff with jitter, for every loop that retries a dependency it cannot reach
 * (etcd, a node's admin API). After the n-th failure in a row the loop waits a random time between
 * half and all of min(cap, base·2ⁿ) ("equal jitter"): it never hammers a dependency that is down,
 * never waits longer than the cap once it is back, and processes cut off together do not retry in
 * step. A success resets it.
 */
export class Backoff {
  #failures = 0;

  constructor(
    readonly baseMs: number,
    readonly capMs: number,
    private readonly random: () => number = Math.random,
  ) {
    if (!(baseMs > 0) || capMs < baseMs) throw new RangeError(`backoff needs 0 < base (${baseMs}) <= cap (${capMs})`);
  }

  /** Failures since the last success. */
  get failures(): number {
    return this.#failures;
  }

  /** Records a failure; returns how long to wait before the next try, in ms. */
  next(): number {
    const ceiling = Math.min(this.capMs, this.baseMs * 2 ** Math.min(this.#failures, 30));
    this.#failures++;
    return Math.round(ceiling / 2 + this.random() * (ceiling / 2));
  }

  /** Records a success: the next failure waits the base again. */
  reset(): void {
    this.#failures = 0;
  }
}
