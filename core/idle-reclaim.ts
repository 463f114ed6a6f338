/**
 * Connections idle between requests, closed while every file descriptor is taken: a server out
 * of connection slots drops its kept-alive connections first (their clients reconnect; a new
 * client could not connect at all). Why, and what Bun does at the limit: core/connections.ts.
 */
import { closeSync, openSync } from 'node:fs'
import type { Logger } from './log'
import { shareInterval } from './shared-interval'

/**
 * Every `everyMs`, whether a descriptor can be opened; when none can (EMFILE), the server's
 * connections idle between requests are closed, giving their fds back to requests that wait in
 * the listen backlog and to the daemon's own work. A check is an open and a close of /dev/null;
 * nothing else is watched, so it costs nothing until the limit is reached. Returns the stop.
 */
export function reclaimIdleAtFdLimit(
  server: { closeIdleConnections(): number },
  log: Logger,
  everyMs: number,
): () => void {
  if (everyMs <= 0) return () => {}
  let reclaiming = false
  // Each second by default, on the awake clock's wake-up (core/shared-interval.ts).
  return shareInterval(everyMs, () => {
    if (!fdTableFull()) {
      if (reclaiming) log.info('file descriptors free again')
      reclaiming = false
      return
    }
    const closed = server.closeIdleConnections()
    // One line when the limit is reached, not one per check while it lasts.
    if (!reclaiming) log.warn('every file descriptor is taken: closing connections idle between requests', { closed })
    reclaiming = true
  })
}

function fdTableFull(): boolean {
  try {
    closeSync(openSync('/dev/null', 'r'))
    return false
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EMFILE'
  }
}
