/**
 * @module health/state-file
 * Warm start: the votes behind the health view are saved in the state directory
 * (`--state DIR`, file `health.json`) and read back at startup. A restart then neither fails
 * everything open (all unknown) nor shut; a vote older than its check's `stale_after` counts for
 * nothing, exactly as if it had aged in memory. Configuration stays in zone files; state never
 * goes into them.
 *
 * Writes are atomic (temp file, fsync, rename) and coalesced to at most one per second.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Vote, VoteStore } from './votes.js';
import { writeFileAtomic } from '../state/atomic.js';
import type { Logger } from '../log.js';

const FILE = 'health.json';

interface Saved {
  version: 1;
  savedAt: number;
  votes: Vote[];
}

export class HealthStateFile {
  readonly #file: string;
  readonly #store: VoteStore;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | undefined;
  #unsubscribe: (() => void) | undefined;

  constructor(dir: string, store: VoteStore, log: Logger) {
    fs.mkdirSync(dir, { recursive: true });
    this.#file = path.join(dir, FILE);
    this.#store = store;
    this.#log = log;
  }

  /** Reads saved votes into the store (call after the store knows its endpoints). */
  load(): number {
    let saved: Saved;
    try {
      saved = JSON.parse(fs.readFileSync(this.#file, 'utf8')) as Saved;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        this.#log.warn({ file: this.#file, err: (err as Error).message }, 'health state unreadable; starting with no votes');
      return 0;
    }
    const votes = Array.isArray(saved.votes) ? saved.votes.filter(isVote) : [];
    const taken = this.#store.record(votes);
    this.#log.info({ file: this.#file, votes: taken, savedAt: new Date(saved.savedAt).toISOString() }, 'health state restored');
    return taken;
  }

  /** Saves on every change of the view (coalesced), and every 10 s so vote ages stay current. */
  start(): void {
    this.#unsubscribe = this.#store.onChange(() => this.#soon());
    this.#timer = setInterval(() => this.save(), 10_000);
    this.#timer.unref();
  }

  #pending: NodeJS.Timeout | undefined;
  #soon(): void {
    this.#pending ??= setTimeout(() => {
      this.#pending = undefined;
      this.save();
    }, 1000);
    this.#pending.unref();
  }

  save(): void {
    const data: Saved = { version: 1, savedAt: Date.now(), votes: this.#store.votes() };
    try {
      writeFileAtomic(this.#file, JSON.stringify(data));
    } catch (err) {
      this.#log.error({ file: this.#file, err: (err as Error).message }, 'cannot save health state');
    }
  }

  stop(): void {
    this.#unsubscribe?.();
    clearInterval(this.#timer);
    clearTimeout(this.#pending);
    this.save();
  }
}

function isVote(v: unknown): v is Vote {
  const o = v as Record<string, unknown>;
  return (
    !!o &&
    typeof o['endpoint'] === 'string' &&
    typeof o['checker'] === 'string' &&
    typeof o['up'] === 'boolean' &&
    typeof o['at'] === 'number' &&
    typeof o['rttMs'] === 'number' &&
    typeof o['reason'] === 'string'
  );
}
