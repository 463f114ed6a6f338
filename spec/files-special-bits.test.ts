/**
 * Modes with a fourth digit (4755, 2775, 1777): the setuid, setgid and sticky bits are dropped on
 * every route that sets a mode, as the reference drops them, so what `GET /files/info` reports
 * (`& 0o777`, the reference's) is the mode the file has; new content over a file drops the
 * bits that make it run as someone else.
 */
import { expect, test } from 'bun:test'
import { chmodSync, chownSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { postJson, startDaemon, type Daemon } from './harness'
import { daemonWithDir } from './kit/daemon-dir'

const fx = daemonWithDir('special-bits')

const modeOf = (path: string) => statSync(path).mode & 0o7777
const infoMode = async (path: string) =>
  (
    (await (await fx.d.fetch(`/files/info?path=${encodeURIComponent(path)}`)).json()) as Record<
      string,
      { mode: number }
    >
  )[path]!.mode

test('POST /files/permissions sets 4755 as 755, and clears the bits a file had when told 7751', async () => {
  const f = join(fx.tmp, 'perm')
  writeFileSync(f, '#!/bin/sh\n')
  expect((await postJson(fx.d, '/files/permissions', { [f]: { mode: 4755 } })).status).toBe(200)
  expect(modeOf(f)).toBe(0o755)
  expect(await infoMode(f)).toBe(755)
  chmodSync(f, 0o6755)
  expect((await postJson(fx.d, '/files/permissions', { [f]: { mode: 7751 } })).status).toBe(200)
  expect(modeOf(f)).toBe(0o751)
})

test('POST /directories makes a 1777 or 2775 directory 777 or 775', async () => {
  const sticky = join(fx.tmp, 'sticky')
  const group = join(fx.tmp, 'group')
  expect((await postJson(fx.d, '/directories', { [sticky]: { mode: 1777 }, [group]: { mode: 2775 } })).status).toBe(200)
  expect([modeOf(sticky), modeOf(group)]).toEqual([0o777, 0o775])
  expect([await infoMode(sticky), await infoMode(group)]).toEqual([777, 775])
})

test('POST /files/upload writes a file whose metadata says 4755 as 755', async () => {
  const f = join(fx.tmp, 'up')
  const form = new FormData()
  form.append('metadata', new Blob([JSON.stringify({ path: f, mode: 4755 })]), 'metadata')
  form.append('file', new Blob(['#!/bin/sh\n']), 'up')
  expect((await fx.d.fetch('/files/upload', { method: 'POST', body: form })).status).toBe(200)
  expect(modeOf(f)).toBe(0o755)
  expect(await infoMode(f)).toBe(755)
})

/**
 * New content over a file without a mode (an upload that gives none, a replace) keeps the file's
 * mode less what the kernel takes from a file an unprivileged process writes: setuid, and setgid
 * when the group may execute; sticky and a setgid without group execute stay.
 */
const REWRITES: [number, number][] = [
  [0o4755, 0o755],
  [0o6755, 0o755],
  [0o2755, 0o755],
  [0o2745, 0o2745],
  [0o1755, 0o1755],
]

async function rewrite(daemon: Daemon, name: string, owner: number, mode: number) {
  const f = join(fx.tmp, name)
  const reset = () => {
    chownSync(f, owner, owner)
    chmodSync(f, mode)
  }
  writeFileSync(f, '#!/bin/sh\necho old\n')
  reset()
  const form = new FormData()
  form.append('metadata', new Blob([JSON.stringify({ path: f })]), 'metadata')
  form.append('file', new Blob(['#!/bin/sh\necho new\n']), name)
  expect((await daemon.fetch('/files/upload', { method: 'POST', body: form })).status).toBe(200)
  const uploaded = { mode: modeOf(f), uid: statSync(f).uid }
  reset()
  expect((await postJson(daemon, '/files/replace', { [f]: { old: 'new', new: 'newer' } })).status).toBe(200)
  return { uploaded, replaced: { mode: modeOf(f), uid: statSync(f).uid } }
}

test('an upload without a mode and a replace drop setuid (and setgid with group execute), keep the rest', async () => {
  for (const owner of [0, 65534]) {
    for (const [before, after] of REWRITES) {
      const name = `rewrite-${owner}-${before.toString(8)}`
      const expected = { mode: after, uid: owner }
      expect({ name, ...(await rewrite(fx.d, name, owner, before)) }).toEqual({
        name,
        uploaded: expected,
        replaced: expected,
      })
    }
  }
})

test.skipIf(process.getuid?.() !== 0 || !Bun.which('setpriv'))(
  "without CAP_CHOWN, another user's file is not rewritten: its owner cannot be kept, and it is not given",
  async () => {
    // The temp file's chown to the file's owner fails here. Before, the owner was dropped
    // silently: a file of nobody came back root's (and, before that, kept its setuid bit too).
    const noChown = await startDaemon({ under: ['setpriv', '--bounding-set', '-chown', '--inh-caps', '-chown'] })
    try {
      const f = join(fx.tmp, 'no-chown')
      writeFileSync(f, '#!/bin/sh\necho old\n')
      chownSync(f, 65534, 65534)
      chmodSync(f, 0o4755)
      const form = new FormData()
      form.append('metadata', new Blob([JSON.stringify({ path: f })]), 'metadata')
      form.append('file', new Blob(['#!/bin/sh\necho new\n']), 'no-chown')
      const upload = await noChown.fetch('/files/upload', { method: 'POST', body: form })
      const replace = await postJson(noChown, '/files/replace', { [f]: { old: 'old', new: 'newer' } })
      const refused = {
        status: 500,
        code: 'RUNTIME_ERROR',
        message: `error accessing file: chown ${f}: operation not permitted: the file's owner (uid 65534, gid 65534) cannot be kept, and owner and group change only when given`,
      }
      expect([await upload.json(), await replace.json()]).toEqual([
        { code: refused.code, message: refused.message },
        { code: refused.code, message: refused.message },
      ])
      expect([upload.status, replace.status]).toEqual([refused.status, refused.status])
      const st = statSync(f)
      expect({ mode: st.mode & 0o7777, uid: st.uid, text: readFileSync(f, 'utf8') }).toEqual({
        mode: 0o4755,
        uid: 65534,
        text: '#!/bin/sh\necho old\n',
      })
      expect(readdirSync(fx.tmp).filter(n => n.includes('no-chown'))).toEqual(['no-chown'])
      // Given, the owner changes as asked: root's, setuid dropped.
      const given = new FormData()
      given.append('metadata', new Blob([JSON.stringify({ path: f, owner: 'root', group: 'root' })]), 'metadata')
      given.append('file', new Blob(['#!/bin/sh\necho given\n']), 'no-chown')
      expect((await noChown.fetch('/files/upload', { method: 'POST', body: given })).status).toBe(200)
      expect({ mode: modeOf(f), uid: statSync(f).uid }).toEqual({ mode: 0o755, uid: 0 })
    } finally {
      await noChown.stop()
    }
  },
)
