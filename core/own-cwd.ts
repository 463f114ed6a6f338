/**
 * execd's own working directory as a path, when the directory it started in was removed before
 * (a shell left in a directory `rm -rf` took, a build tree made again). getcwd(3) fails there
 * with ENOENT, and `process.cwd()` throws: read at load by core/process.ts, it ended every verb
 * with `execd: no such file or directory` before any work, and `serve` died after listening
 * (the python spare's start asked for it). The path the directory had is kept instead, as a
 * command given a path is run: made again there, it is used; still gone, a spawn says so.
 */
export function ownCwd(): string {
  try {
    return process.cwd()
  } catch {
    try {
      // Required here: a serve start loads no node:fs before it listens (core/layout-start.test.ts).
      const { readlinkSync } = require('node:fs') as typeof import('node:fs')
      return readlinkSync('/proc/self/cwd').replace(/ \(deleted\)$/, '')
    } catch {
      return '/'
    }
  }
}
