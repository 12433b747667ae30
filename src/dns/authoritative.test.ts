/**
 * The authoritative table (test/support/authoritative-cases.ts) in-process: every case goes
 * through `handleQuery` with no socket, against the shipped zones, with the encoded-answer cache
 * on (as a node runs) and off (the general path), and once more as a node defends itself by
 * default — DNS Cookies on, response rate limiting at its default rate with no source exempt — to
 * show the defaults change no answer of the table. test/e2e/authoritative.test.ts runs the same
 * table over UDP and TCP sockets.
 */
import path from 'node:path';
import { describe } from 'vitest';
import { handleQuery, type QueryEnv } from './pipeline.js';
import { CookieJar } from './cookies.js';
import { CookieSecrets } from './cookie-secrets.js';
import { DEFAULT_RRL, ResponseRateLimiter } from './rrl.js';
import { SnapshotHolder } from '../state/snapshot.js';
import { checkZoneDir } from '../state/file-source.js';
import { authoritativeCases } from '../../test/support/authoritative-cases.js';

const zonesDir = path.resolve(import.meta.dirname, '../../zones');

describe.each([
  ['with the answer cache', true, false],
  ['without the answer cache', false, false],
  ['with cookies and default rate limiting, loopback not exempt', true, true],
])('in-process, %s', (_label, useCache, guarded) => {
  authoritativeCases(async () => {
    const { zones, errors } = await checkZoneDir(zonesDir);
    if (errors.length > 0) throw new Error(errors.map((e) => e.format()).join('\n'));
    const env: QueryEnv = {
      snapshots: new SnapshotHolder(zones),
      options: { maxUdpPayload: 1232, useCache },
      ...(guarded ? { cookies: new CookieJar(new CookieSecrets()), rrl: new ResponseRateLimiter({ ...DEFAULT_RRL, exempt: [] }) } : {}),
    };
    return {
      send: async (msg, transport) => {
        const out = handleQuery(msg, { transport, remoteAddress: '127.0.0.1' }, env);
        return Array.isArray(out) ? out[0]! : out;
      },
    };
  });
});
