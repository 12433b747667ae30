/**
 * @module cli/lifetime
 * How a long-running command (`meridian checker`, `meridian serve`) stays alive: until SIGTERM or
 * SIGINT, or until something it depends on refuses it for good (a bad token, etcd refusing its
 * credentials), which no retry can fix.
 *
 * It holds the event loop open itself, with a timer, instead of relying on whatever sockets
 * happen to be open. Every retry loop (etcd client, election, membership, vote publishers) keeps
 * its timers unref'd, so a checker whose only dependency is gone has nothing else open; without
 * this, Node ends the process with status 0 when the loop empties, and a supervisor with
 * `Restart=on-failure` takes that for a clean stop (issue 12, "the checker quits silently when
 * etcd blinks"). src/main.ts also turns an emptied loop with a command still running into a
 * non-zero exit, so that class of bug can never look like success again.
 */
import type { MeridianError } from '../errors.js';
import type { Logger } from '../log.js';

/** Why the command stops: a signal (exit 0), or a problem it cannot run with (exit non-zero). */
export type Ending = { readonly signal: NodeJS.Signals } | { readonly fatal: MeridianError };

export class Lifetime {
  readonly ended: Promise<Ending>;
  #resolve!: (e: Ending) => void;
  #done = false;
  readonly #hold: NodeJS.Timeout;
  readonly #onSignal: (signal: NodeJS.Signals) => void;

  constructor(private readonly log: Logger) {
    this.ended = new Promise((resolve) => (this.#resolve = resolve));
    // A referenced timer: the process lives until end() clears it, whatever else is open.
    this.#hold = setInterval(() => undefined, 1 << 30);
    this.#onSignal = (signal) => {
      this.log.info({ signal }, 'stopping');
      this.#end({ signal });
    };
    process.once('SIGTERM', this.#onSignal);
    process.once('SIGINT', this.#onSignal);
  }

  /** Ends the command because of a problem it cannot run with; it exits non-zero. */
  fail(err: MeridianError): void {
    if (this.#done) return;
    this.log.error({ code: err.code, err: err.message }, 'stopping: this configuration cannot run');
    this.#end({ fatal: err });
  }

  /** Lets the process end without resolving (the command failed while starting). */
  release(): void {
    this.#finish();
  }

  #end(e: Ending): void {
    if (this.#finish()) this.#resolve(e);
  }

  /** Stops holding the process open and listening for signals; false if that was done already. */
  #finish(): boolean {
    if (this.#done) return false;
    this.#done = true;
    clearInterval(this.#hold);
    process.off('SIGTERM', this.#onSignal);
    process.off('SIGINT', this.#onSignal);
    return true;
  }
}
