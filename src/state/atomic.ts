/**
 * @module state/atomic
 * Durable, atomic file replacement: a crash (even kill -9 or power loss) leaves either the old
 * file or the new one, never a torn or empty one. Used for zone files written by the admin API,
 * health state and overrides, and secrets (the admin write token, the cookie secret).
 */
import fs from 'node:fs';
import path from 'node:path';

/**
 * Writes `data` to `file` atomically: a crash leaves the old file or the new one, never a torn one.
 * The file gets `mode` (0600 for secrets: set on the temporary file before a byte is written).
 */
export function writeFileAtomic(file: string, data: string, mode = 0o644): void {
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, 'w', mode);
  try {
    fs.fchmodSync(fd, mode);
    fs.writeSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  // The rename itself is durable once the directory is synced.
  try {
    const dfd = fs.openSync(path.dirname(file), 'r');
    fs.fsyncSync(dfd);
    fs.closeSync(dfd);
  } catch {
    // Some file systems cannot fsync a directory; the rename is still atomic.
  }
}
