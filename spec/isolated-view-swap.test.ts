/**
 * A session that swaps its own workspace for a symlink. Its root is a tmpfs its uid 0 owns, so
 * its shell can move the workspace's parent aside and put a link where the workspace stood; the
 * files routes reach the workspace through `/proc/<sandbox>/root<workspace>`, and a link met
 * there was followed in execd's own root: the host's `/`, read and written with execd's rights.
 */
import { describe, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { daemonWithDir } from './kit/daemon-dir'
import { isolationOf, stdoutOf } from './kit/isolated'

const fx = daemonWithDir('isolated-view-swap')

/** A workspace two levels below fx.tmp, and a file of the host's beside it that no session mounts. */
const setup = () => {
  const ws = join(mkdtempSync(join(fx.tmp, 'parent-')), 'ws')
  Bun.spawnSync(['mkdir', ws])
  writeFileSync(join(ws, 'seed.txt'), 'seed\n')
  const secret = join(fx.tmp, 'host-secret.txt')
  writeFileSync(secret, 'host only\n')
  return { ws, secret }
}

/** The shell's line: the workspace's parent moved aside, the link `ws -> target` in its place. */
const swap = (ws: string, target: string) =>
  `cd / && mv ${dirname(ws)} ${dirname(ws)}-aside && mkdir ${dirname(ws)} && ln -s ${target} ${ws} && echo swapped`

describe.skipIf(!Bun.which('bwrap'))("a session's workspace swapped for a link", () => {
  test('to /: no route of its files view reaches the host', async () => {
    const { ws, secret } = setup()
    await isolationOf(fx.d).withSession({ workspace: { path: ws } }, async s => {
      expect(stdoutOf(await s.run(swap(ws, '/')))).toEqual(['swapped'])
      const base = `/v1/isolated/session/${s.sessionId}`
      const inHost = (p: string) => encodeURIComponent(join(ws, p))
      const answers = [
        await fx.d.fetch(`${base}/files/download?path=${inHost(secret)}`),
        await fx.d.fetch(`${base}/directories/list?path=${encodeURIComponent(ws)}`),
        await fx.d.fetch(`${base}/files/info?path=${inHost('etc/hostname')}`),
        await fx.d.fetch(`${base}/directories`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ [join(ws, fx.tmp, 'made-on-host')]: { mode: 755 } }),
        }),
      ]
      const got = await Promise.all(answers.map(async r => ({ status: r.status, body: await r.text() })))
      for (const a of got) {
        expect(a.status).toBe(400)
        expect(a.body).not.toContain('host only')
        expect(JSON.parse(a.body).message).toContain('workspace')
      }
      expect(existsSync(join(fx.tmp, 'made-on-host'))).toBe(false)
    })
  })

  test('to /proc: nothing of the session is written with execd rights', async () => {
    const { ws } = setup()
    await isolationOf(fx.d).withSession({ workspace: { path: ws } }, async s => {
      expect(stdoutOf(await s.run(swap(ws, '/proc')))).toEqual(['swapped'])
      const res = await fx.d.fetch(
        `/v1/isolated/session/${s.sessionId}/files/info?path=${encodeURIComponent(join(ws, 'sys/kernel/core_pattern'))}`,
      )
      expect(res.status).toBe(400)
    })
  })

  test("an absolute link inside the workspace resolves in the session's view", async () => {
    const { ws } = setup()
    await isolationOf(fx.d).withSession({ workspace: { path: ws } }, async s => {
      await s.run(`ln -s ${join(ws, 'seed.txt')} abs; mkdir sub; ln -s ${ws} sub/top`)
      for (const p of ['abs', 'sub/top/seed.txt', 'sub/../abs']) {
        const res = await fx.d.fetch(
          `/v1/isolated/session/${s.sessionId}/files/download?path=${encodeURIComponent(join(ws, p))}`,
        )
        expect({ p, status: res.status, body: await res.text() }).toEqual({ p, status: 200, body: 'seed\n' })
      }
    })
  })
})

describe.skipIf(!Bun.which('bwrap'))('a workspace swapped once execd holds it', () => {
  test('refused while swapped, served again once the session puts it back', async () => {
    const { ws, secret } = setup()
    await isolationOf(fx.d).withSession({ workspace: { path: ws } }, async s => {
      const base = `/v1/isolated/session/${s.sessionId}`
      const info = (p: string) => fx.d.fetch(`${base}/files/info?path=${encodeURIComponent(p)}`)
      // Held from here on: the requests after the swap start from the held descriptor.
      expect((await info(join(ws, 'seed.txt'))).status).toBe(200)
      expect(stdoutOf(await s.run(swap(ws, '/')))).toEqual(['swapped'])
      for (const p of [join(ws, 'seed.txt'), join(ws, secret)]) {
        const res = await info(p)
        expect({ p, status: res.status }).toEqual({ p, status: 400 })
        expect((await res.json()).message).toContain('no longer a directory in the session')
      }
      const res = await fx.d.fetch(`${base}/files/download?path=${encodeURIComponent(join(ws, secret))}`)
      expect(await res.text()).not.toContain('host only')
      // The workspace moved back where it was: the same directory, served again.
      const back = `rm ${ws} && rmdir ${dirname(ws)} && mv ${dirname(ws)}-aside ${dirname(ws)} && echo back`
      expect(stdoutOf(await s.run(back))).toEqual(['back'])
      expect((await info(join(ws, 'seed.txt'))).status).toBe(200)
    })
  })
})
