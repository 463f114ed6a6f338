/**
 * An owned temp dir's lock as a killed execd leaves it (core/temp-dir.ts): nobody listens on its
 * socket, and the socket file is still there. The listener's stop() unlinks the socket by the
 * path it was bound at (through the dir's held descriptor, which reaches it wherever the dir is
 * by then), so the file is moved aside while it stops; a SIGKILL unlinks nothing.
 */
import { renameSync } from 'node:fs'
import { join } from 'node:path'
import { OWNER_SOCKET } from '../../core/stale-dirs'
import type { OwnedTempDir } from '../../core/temp-dir'

export function dropLockAsKilled(dir: OwnedTempDir): void {
  const socket = join(dir.path, OWNER_SOCKET)
  renameSync(socket, `${socket}.kept`)
  ;(dir as unknown as { lock: { stop(force: boolean): void } }).lock.stop(true)
  renameSync(`${socket}.kept`, socket)
}
