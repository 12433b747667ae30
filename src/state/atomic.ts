/**
 * @module state/atomic
 * Durable, atomic file replacement: a crash (even kill -9 or power loss) leaves either the old
 * file or the new one, never a torn or empty one. Used for zone files written by the admin API,
 * health state and overrides.
 */
import fs from 'node:fs';
import path from 'node:path';

/** Writes `data` to `file` atomically: a crash leaves the old file or the new one, never a torn one. */
export function writeFileAtomic(file: string, data: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, 'w', 0o644);
  try {
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
