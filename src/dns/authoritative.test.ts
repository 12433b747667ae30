/**
 * The authoritative table (test/support/authoritative-cases.ts) in-process: every case goes
 * through `handleQuery` with no socket, against the shipped zones, with the encoded-answer cache
 * on (as a node runs) and off (the general path). test/e2e/authoritative.test.ts runs the same
 * table over UDP and TCP sockets.
 */
import path from 'node:path';
import { describe } from 'vitest';
import { handleQuery, type QueryEnv } from './pipeline.js';
import { SnapshotHolder } from '../state/snapshot.js';
import { checkZoneDir } from '../state/file-source.js';
import { authoritativeCases } from '../../test/support/authoritative-cases.js';

const zonesDir = path.resolve(import.meta.dirname, '../../zones');

describe.each([
  ['with the answer cache', true],
  ['without the answer cache', false],
])('in-process, %s', (_label, useCache) => {
  authoritativeCases(async () => {
    const { zones, errors } = await checkZoneDir(zonesDir);
    if (errors.length > 0) throw new Error(errors.map((e) => e.format()).join('\n'));
    const env: QueryEnv = { snapshots: new SnapshotHolder(zones), options: { maxUdpPayload: 1232, useCache } };
    return {
      send: async (msg, transport) => {
        const out = handleQuery(msg, { transport, remoteAddress: '127.0.0.1' }, env);
        return Array.isArray(out) ? out[0]! : out;
      },
    };
  });
});
