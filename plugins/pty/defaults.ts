/** The PTY limits' defaults, apart from the store so that the section's options load without it. */
export interface PtyLimits {
  /** ms an exited (or never connected) session without a client keeps its output for replay. */
  retainMs: number
  /** ms a running session may go without a client and without output before it is hung up; 0 = never. */
  idleMs: number
  /** Sessions at most (0 = no limit). */
  max: number
  /** Bytes all terminals' sockets may queue together for clients that do not read (0 = only each socket's 16 MiB). */
  queuedMax: number
  /** This daemon's --root as its real path (core/workdir.ts workRoot), which terminals' directories stay within. */
  root?: string
}

export const DEFAULT_LIMITS: PtyLimits = { retainMs: 10 * 60_000, idleMs: 30 * 60_000, max: 64, queuedMax: 64 << 20 }
