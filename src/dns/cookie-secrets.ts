/**
 * @module dns/cookie-secrets
 * The server secret of DNS cookies (RFC 9018 §5), and how it changes without breaking a client's
 * cookie. Three secrets are in force at once:
 *
 *   next      accepted, not yet used to make cookies
 *   current   makes every new server cookie; accepted
 *   previous  accepted, no longer used
 *
 * A rotation is one step — previous ← current, current ← next, next ← a new random secret — so a
 * secret is accepted for a whole rotation period before any node makes cookies with it, and for a
 * whole period after the last node stopped (RFC 9018 §5: every server must accept the new secret
 * before any sends it, and keep accepting the old one while its cookies may still be presented).
 * The period (a day) is far longer than a cookie's lifetime (an hour, RFC 9018 §4.3), so no
 * cookie stops validating because of a rotation.
 *
 * Who holds the state: a single node keeps it in memory, or, with `--state DIR`, in
 * `DIR/cookie-secret.json` (mode 0600) so a restart keeps its clients' cookies valid
 * ({@link FileCookieSecrets}); the nodes of a cluster share it through etcd
 * (cluster/cookie-secrets.ts). Either way the query path reads {@link CookieSecrets} synchronously.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log.js';
import { writeFileAtomic } from '../state/atomic.js';

/** Seconds between rotations of the server secret. */
export const COOKIE_ROTATION_SECONDS = 86_400;

/** The three secrets (hex, 16 octets each) and when the last rotation happened, as stored. */
export interface CookieSecretState {
  readonly current: string;
  readonly next: string;
  readonly previous: string | null;
  /** Seconds since the Unix epoch. */
  readonly rotated_at: number;
}

const HEX32 = /^[0-9a-f]{32}$/;

/** The stored state parsed and checked; throws with a reason. */
export function parseSecretState(text: string): CookieSecretState {
  const o = JSON.parse(text) as Partial<CookieSecretState>;
  if (typeof o !== 'object' || o === null) throw new Error('not a JSON object');
  for (const k of ['current', 'next'] as const) if (typeof o[k] !== 'string' || !HEX32.test(o[k]!)) throw new Error(`"${k}" must be 32 hex digits`);
  if (o.previous !== null && (typeof o.previous !== 'string' || !HEX32.test(o.previous))) throw new Error('"previous" must be 32 hex digits or null');
  if (typeof o.rotated_at !== 'number' || !Number.isFinite(o.rotated_at)) throw new Error('"rotated_at" must be a number of seconds');
  return { current: o.current!, next: o.next!, previous: o.previous, rotated_at: o.rotated_at };
}

/** A new state: two fresh random secrets, none previous. */
export function freshSecretState(nowSeconds: number): CookieSecretState {
  return { current: randomBytes(16).toString('hex'), next: randomBytes(16).toString('hex'), previous: null, rotated_at: nowSeconds };
}

/** The state after one rotation. */
export function rotatedSecretState(s: CookieSecretState, nowSeconds: number): CookieSecretState {
  return { current: s.next, next: randomBytes(16).toString('hex'), previous: s.current, rotated_at: nowSeconds };
}

/** True when a rotation is due. */
export function rotationDue(s: CookieSecretState, nowSeconds: number): boolean {
  return nowSeconds - s.rotated_at >= COOKIE_ROTATION_SECONDS;
}

/** The secrets the query path uses: replaced whole when the state changes, read without waiting. */
export class CookieSecrets {
  #current: Buffer;
  #accepted: readonly Buffer[];
  #state: CookieSecretState;

  constructor(state: CookieSecretState = freshSecretState(Math.floor(Date.now() / 1000))) {
    this.#state = state;
    this.#current = Buffer.from(state.current, 'hex');
    this.#accepted = this.#acceptedOf(state);
  }

  #acceptedOf(s: CookieSecretState): Buffer[] {
    return [s.current, s.next, ...(s.previous ? [s.previous] : [])].map((h) => Buffer.from(h, 'hex'));
  }

  /** The secret new server cookies are made with. */
  get current(): Buffer {
    return this.#current;
  }

  /** Every secret a presented cookie may have been made with, the current one first. */
  get accepted(): readonly Buffer[] {
    return this.#accepted;
  }

  get state(): CookieSecretState {
    return this.#state;
  }

  set(state: CookieSecretState): void {
    this.#state = state;
    this.#current = Buffer.from(state.current, 'hex');
    this.#accepted = this.#acceptedOf(state);
    this.onChange?.();
  }

  /** Called after every {@link set} (a rotation, a secret from etcd): DNS workers get it too. */
  onChange: (() => void) | undefined;
}

/**
 * A single node's secrets: in memory, or in `DIR/cookie-secret.json` (mode 0600) when given a
 * state directory, rotated once a day by a timer. A file that cannot be read or parsed is
 * replaced by a fresh state (logged): clients just learn a new cookie.
 */
export class FileCookieSecrets {
  readonly secrets: CookieSecrets;
  readonly #file: string | null;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | null = null;

  constructor(stateDir: string | undefined, log: Logger, now: () => number = () => Math.floor(Date.now() / 1000)) {
    this.#file = stateDir ? path.join(stateDir, 'cookie-secret.json') : null;
    this.#log = log;
    this.#now = now;
    let state: CookieSecretState | null = null;
    if (this.#file) {
      try {
        state = parseSecretState(fs.readFileSync(this.#file, 'utf8'));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
          log.warn({ file: this.#file, err: (err as Error).message }, 'cookie secret file unusable; making a new secret');
      }
    }
    const fresh = state === null;
    this.secrets = new CookieSecrets(state ?? freshSecretState(now()));
    if (fresh) this.#save();
    this.rotateIfDue();
  }

  readonly #now: () => number;

  /** Rotates when a day has passed since the last rotation; returns whether it did. */
  rotateIfDue(): boolean {
    const now = this.#now();
    if (!rotationDue(this.secrets.state, now)) return false;
    this.secrets.set(rotatedSecretState(this.secrets.state, now));
    this.#save();
    this.#log.info('cookie secret rotated');
    return true;
  }

  /** Checks once a minute whether a rotation is due. */
  start(): void {
    this.#timer = setInterval(() => this.rotateIfDue(), 60_000);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  #save(): void {
    if (!this.#file) return;
    try {
      fs.mkdirSync(path.dirname(this.#file), { recursive: true });
      writeFileAtomic(this.#file, JSON.stringify(this.secrets.state) + '\n', 0o600);
    } catch (err) {
      this.#log.warn({ file: this.#file, err: (err as Error).message }, 'cannot save the cookie secret; cookies will not survive a restart');
    }
  }
}
