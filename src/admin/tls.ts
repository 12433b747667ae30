/**
 * @module admin/tls
 * The admin API's certificate and key (`--admin-tls-cert FILE --admin-tls-key FILE`): read at
 * start, checked to belong together, and read again when either file changes (polled every two
 * seconds, so a certificate renewed by certbot or cert-manager's rename is seen) and on SIGHUP.
 * A pair that does not load never replaces the one in force; the error is logged and reported.
 * New connections get the new certificate; open ones keep theirs. Called by node/node.ts, which
 * hands the pair to admin/app.ts and calls {@link AdminTls.reload}.
 */
import fs from 'node:fs';
import type https from 'node:https';
import tls from 'node:tls';
import type { Logger } from '../log.js';

export interface TlsPair {
  readonly cert: Buffer;
  readonly key: Buffer;
}

/** Reads and checks a certificate and key pair; throws with the file and the reason. */
export function readTlsPair(certFile: string, keyFile: string): TlsPair {
  const read = (file: string, what: string): Buffer => {
    try {
      return fs.readFileSync(file);
    } catch (err) {
      throw new Error(`${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  const cert = read(certFile, '--admin-tls-cert');
  const key = read(keyFile, '--admin-tls-key');
  try {
    // Fails on PEM that does not parse and on a key that is not the certificate's.
    tls.createSecureContext({ cert, key });
  } catch (err) {
    throw new Error(`${certFile} and ${keyFile} do not make a certificate and its key: ${(err as Error).message}`);
  }
  return { cert, key };
}

export class AdminTls {
  #pair: TlsPair;
  #server: https.Server | null = null;
  #watching = false;

  constructor(
    readonly certFile: string,
    readonly keyFile: string,
    private readonly log: Logger,
  ) {
    this.#pair = readTlsPair(certFile, keyFile);
  }

  get pair(): TlsPair {
    return this.#pair;
  }

  /** Starts watching the files; `server` is the API's HTTPS server, whose context a change replaces. */
  watch(server: https.Server): void {
    this.#server = server;
    if (this.#watching) return;
    this.#watching = true;
    const onChange = (cur: fs.Stats, prev: fs.Stats): void => {
      if (cur.mtimeMs === prev.mtimeMs && cur.size === prev.size && cur.ino === prev.ino) return;
      const r = this.reload();
      if (r.result === 'failed') this.log.warn({ err: r.error }, 'admin TLS certificate not reloaded; the one in force stays');
    };
    fs.watchFile(this.certFile, { interval: 2000, persistent: false }, onChange);
    fs.watchFile(this.keyFile, { interval: 2000, persistent: false }, onChange);
  }

  /** Reads the files again; a pair that differs and loads goes into force. */
  reload(): { result: 'changed' | 'unchanged' | 'failed'; error?: string } {
    let next: TlsPair;
    try {
      next = readTlsPair(this.certFile, this.keyFile);
    } catch (err) {
      return { result: 'failed', error: (err as Error).message };
    }
    if (next.cert.equals(this.#pair.cert) && next.key.equals(this.#pair.key)) return { result: 'unchanged' };
    this.#server?.setSecureContext({ cert: next.cert, key: next.key });
    this.#pair = next;
    this.log.info({ cert: this.certFile }, 'admin TLS certificate reloaded');
    return { result: 'changed' };
  }

  close(): void {
    if (!this.#watching) return;
    fs.unwatchFile(this.certFile);
    fs.unwatchFile(this.keyFile);
    this.#watching = false;
  }
}
