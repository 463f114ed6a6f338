/** Live shells for core/live-bash's unit tests: each test's shells are closed after it. */
import { afterEach } from 'bun:test'
import { tmpdir } from 'node:os'
import { LiveBash } from '../../core/live-bash'

type LiveBashOptions = ConstructorParameters<typeof LiveBash>[0]

/**
 * Registers the closing in this file's afterEach; returns the function that starts a shell (in
 * the temp dir with PATH and HOME, unless given its options).
 */
export function liveShells(): (opts?: LiveBashOptions) => LiveBash {
  const shells: LiveBash[] = []
  afterEach(async () => {
    await Promise.all(shells.splice(0).map(s => s.close()))
  })
  return (opts = { cwd: tmpdir(), env: { PATH: process.env.PATH, HOME: tmpdir() } }) => {
    const b = new LiveBash(opts)
    shells.push(b)
    return b
  }
}
