/**
 * spec/session-input's case in an isolated session: the shell is bubblewrap's grandchild, reads
 * the FIFOs of its lines through the bind of execd's code dir, and may run as another user.
 */
import { describe, expect, test } from 'bun:test'
import { chmodSync, mkdirSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { daemonWithDir } from './kit/daemon-dir'
import { isolationOf, stdoutOf } from './kit/isolated'
import { grabEveryDescriptor } from './kit/grab-descriptors'

const fx = daemonWithDir('isolated-input')

describe.skipIf(!Bun.which('bwrap'))("an isolated session's background jobs", () => {
  for (const [name, as] of [
    ['as root', {}],
    ['as another user', { uid: 65534, gid: 65534 }],
  ] as const) {
    test(`${name}: reading or writing each descriptor of the shell takes no later run`, async () => {
      const ws = join(fx.tmp, `ws-${crypto.randomUUID()}`)
      mkdirSync(ws)
      chmodSync(ws, 0o777)
      await isolationOf(fx.d).withSession({ workspace: { path: ws }, ...as }, async s => {
        expect(stdoutOf(await s.run(grabEveryDescriptor(ws)))[0]).toMatch(/^grabbed [1-9]/)
        for (const word of ['two', 'three', 'four']) {
          const e = await s.run(`echo ${word}`, { timeout_seconds: 20 })
          // Old build: a job read the second or third line; that run ended with the stall's words.
          expect([stdoutOf(e), e.error?.traceback ?? []]).toEqual([[word], []])
        }
      })
      for (const f of readdirSync(ws).filter(f => !f.startsWith('up-')))
        expect(readFileSync(join(ws, f), 'latin1')).not.toMatch(/__execd_|execd-bash-/)
    }, 90_000)
  }
})
