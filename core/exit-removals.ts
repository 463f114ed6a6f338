/**
 * What execd removes as it exits, if still there: a verb ended by a signal (`execd exec bash`
 * or `exec go` stopped while its shell or kernel build started) exits without awaiting what it
 * was doing, which left its code files, FIFOs and build dirs in TMPDIR for good. One exit hook
 * for all of them; each removal is tried alone, since an exit must finish (the next execd's sweep
 * takes what stays).
 */
const removals = new Map<unknown, () => void>()
let hooked = false

/** Runs `remove` as execd exits, unless `key` is forgotten first. */
export function removeAtExit(key: unknown, remove: () => void): void {
  removals.set(key, remove)
  if (hooked) return
  hooked = true
  process.on('exit', () => {
    for (const run of removals.values())
      try {
        run()
      } catch {}
  })
}

export const forgetAtExit = (key: unknown): void => void removals.delete(key)
