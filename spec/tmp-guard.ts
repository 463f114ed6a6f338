/**
 * Preloaded by every `bun test` here (bunfig.toml): says in one line when the temp dir
 * cannot be entered by other users, and fails the run when its tests leave
 * execd's temp entries behind (`execd-*`, `pty-*`, dot-named or not, in the temp dir; four such folders once
 * piled up after every `make test`). Tests and the daemons they start clean up after
 * themselves: this checks it, once all the run's tests are done.
 *
 * Left alone: what was there before the run, and `execd-<uid>`, the per-user cache of compiled
 * helpers that every execd on the machine shares on purpose. Only with EXECD_TMP_GUARD=1 (the
 * Makefile sets it): a run beside other test runs on one machine would see their entries too.
 */
import { afterAll } from 'bun:test'
import { readdirSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname } from 'node:path'

// Dot-named too: a staging dir (`.execd-sessions-*`, core/temp-dir.ts) or a probe's
// (`.execd-overlay-probe-*`) left behind piles up as the others do.
const OURS = /^\.?(execd-|pty-)/
const SHARED_CACHE = `execd-${process.getuid?.() ?? 'user'}`

const entries = (): Set<string> => new Set(readdirSync(tmpdir()).filter(name => OURS.test(name)))

if (process.env.EXECD_TMP_GUARD === '1') {
  const before = entries()
  const leftover = () => [...entries()].filter(name => !before.has(name) && name !== SHARED_CACHE)

  afterAll(async () => {
    // A daemon stopped by the last test's afterAll may still be removing its temp dir: give
    // the stragglers a moment (polling for them to go, not sleeping a fixed time).
    const deadline = Date.now() + 5_000
    while (leftover().length > 0 && Date.now() < deadline) await Bun.sleep(50)
    const left = leftover()
    if (left.length > 0) {
      throw new Error(`tests left these in ${tmpdir()} (each test removes what it creates): ${left.sort().join(', ')}`)
    }
  }, 15_000)
}

/**
 * The first of the temp dir and its parents that other users cannot enter (no o+x), if any.
 * Tests that drop to another user (setpriv to nobody: the no-HOME CLI, the unprivileged files
 * walk, the PostgreSQL and MariaDB servers) work in dirs made under it and fail, as root, with a
 * "permission denied" that does not point here (a private `mktemp -d` TMPDIR is 0700).
 */
function closedToOthers(dir: string): string | undefined {
  for (let d = dir; ; d = dirname(d)) {
    try {
      if ((statSync(d).mode & 0o001) === 0) return d
    } catch {}
    if (d === dirname(d)) return undefined
  }
}

const closed = process.getuid?.() === 0 ? closedToOthers(tmpdir()) : undefined
if (closed) {
  console.warn(
    `spec/tmp-guard.ts: ${closed} is mode ${(statSync(closed).mode & 0o777).toString(8)}: tests that drop to another user will fail (chmod 755 it, or pick another TMPDIR)`,
  )
}
