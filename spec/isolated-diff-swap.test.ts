/**
 * An overlay session that swaps its workspace for a link, then asks for its diff. What was
 * deleted is read from the session's view of the workspace; reached by the path
 * `/proc/<sandbox>/root<workspace>`, the link was followed in execd's root, so the diff told
 * which of the workspace's names a host directory of the session's choosing has.
 */
import { describe, expect, test } from 'bun:test'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { daemonWithDir } from './kit/daemon-dir'
import { isolationOf, stdoutOf } from './kit/isolated'

const fx = daemonWithDir('isolated-diff-swap')

type Change = { path: string; change: string }

describe.skipIf(!Bun.which('bwrap'))("an overlay session's workspace swapped for a link", () => {
  test("its diff is the same whichever host directory the link names, and lists no host's names", async () => {
    const ws = join(mkdtempSync(join(fx.tmp, 'parent-')), 'ws')
    mkdirSync(ws)
    for (const n of ['a', 'b']) writeFileSync(join(ws, n), `${n}\n`)
    // Two host directories no session mounts: one has `a`, the other `b`.
    const host = (n: string) => {
      const d = mkdtempSync(join(fx.tmp, `host-${n}-`))
      writeFileSync(join(d, n), 'host only\n')
      return d
    }
    const [hasA, hasB] = [host('a'), host('b')]
    await isolationOf(fx.d).withSession({ workspace: { path: ws, mode: 'overlay' } }, async s => {
      const base = `/v1/isolated/session/${s.sessionId}/diff`
      const p = dirname(ws)
      const swap = `cd / && mv ${p} ${p}-aside && mkdir ${p} && ln -s ${hasA} ${ws} && echo swapped`
      expect(stdoutOf(await s.run(swap))).toEqual(['swapped'])
      const first = await fx.d.fetch(base)
      expect(first.status).toBe(200)
      const toA = ((await first.json()).changes as Change[]).map(c => `${c.path} ${c.change}`)
      expect(stdoutOf(await s.run(`ln -sfn ${hasB} ${ws} && echo repointed`))).toEqual(['repointed'])
      const toB = ((await (await fx.d.fetch(base)).json()).changes as Change[]).map(c => `${c.path} ${c.change}`)
      expect({ toA, toB }).toEqual({ toA: [], toB: [] })
    })
  })

  test('a file deleted in the session is still listed as deleted', async () => {
    const ws = mkdtempSync(join(fx.tmp, 'ws-'))
    writeFileSync(join(ws, 'gone'), 'x\n')
    mkdirSync(join(ws, 'd'))
    writeFileSync(join(ws, 'd', 'inner'), 'y\n')
    await isolationOf(fx.d).withSession({ workspace: { path: ws, mode: 'overlay' } }, async s => {
      // An opaque directory: no whiteout for `inner`, only the session's view tells.
      await s.run('rm gone && rm -r d && mkdir d && echo new > d/other')
      const changes = (
        (await (await fx.d.fetch(`/v1/isolated/session/${s.sessionId}/diff`)).json()).changes as Change[]
      )
        .map(c => `${c.path.slice(ws.length + 1)} ${c.change}`)
        .sort()
      expect(changes).toEqual(['d/inner deleted', 'd/other added', 'gone deleted'])
    })
  })
})
