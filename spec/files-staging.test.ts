/**
 * What the files section stages beside a user's file (an upload's temp file, the copy of a move
 * across filesystems) never outlives the request or execd, through the compiled executable:
 * removed when execd stops (SIGTERM), and, when it was SIGKILLed, at its next start. The user's
 * own file is never touched for it.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import type { Socket } from 'bun'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Daemon, startDaemon, waitFor } from './harness'

const dir = realpathSync(mkdtempSync(join(tmpdir(), 'execd-spec-staging-')))
const otherDevice = existsSync('/dev/shm') && statSync('/dev/shm').dev !== statSync(tmpdir()).dev
const shm = otherDevice ? mkdtempSync('/dev/shm/execd-spec-staging-') : ''
const daemons: Daemon[] = []
afterAll(async () => {
  for (const d of daemons) if (d.proc.exitCode === null && d.proc.signalCode === null) await d.stop()
  rmSync(dir, { recursive: true, force: true })
  if (shm) rmSync(shm, { recursive: true, force: true })
})

const start = async () => {
  const d = await startDaemon()
  daemons.push(d)
  return d
}

/** execd's temp entries in `where`: an upload's, a replace's or a move's. */
const temps = (where: string) => readdirSync(where).filter(n => n.includes('.execd-tmp-'))

const MiB = 1024 * 1024

/**
 * An upload of `target` that sends its first MiB and then waits, its connection open (the
 * body announced is 64 MiB): execd has its temp file open by the time that MiB is written.
 */
async function slowUpload(d: Daemon, target: string): Promise<Socket<undefined>> {
  const url = new URL(d.url)
  const head =
    `--sb\r\nContent-Disposition: form-data; name="metadata"; filename="metadata"\r\n\r\n` +
    `${JSON.stringify({ path: target })}\r\n--sb\r\nContent-Disposition: form-data; name="file"; filename="x"\r\n\r\n`
  const socket = await Bun.connect({ hostname: url.hostname, port: Number(url.port), socket: { data() {} } })
  socket.write(
    `POST /files/upload HTTP/1.1\r\nHost: ${url.host}\r\nX-EXECD-ACCESS-TOKEN: ${d.token}\r\n` +
      `Content-Type: multipart/form-data; boundary=sb\r\nContent-Length: ${head.length + 64 * MiB + 8}\r\n\r\n${head}`,
  )
  socket.write(Buffer.alloc(MiB, 'x'))
  return socket
}

/** A tree of many small files: its copy across filesystems takes long enough to be stopped. */
function makeTree(root: string, files = 4000): void {
  for (let i = 0; i < files / 100; i++) {
    const sub = join(root, `d${i}`)
    mkdirSync(sub, { recursive: true })
    for (let j = 0; j < 100; j++) writeFileSync(join(sub, `f${j}`), `file ${i}/${j}\n`.repeat(64))
  }
}

const filesUnder = (root: string): number =>
  readdirSync(root, { recursive: true }).filter(n => statSync(join(root, String(n))).isFile()).length

describe('execd stopped by SIGTERM', () => {
  test('during an upload: its temp file is removed and the previous file is as it was', async () => {
    const d = await start()
    const where = join(dir, 'upload-term')
    mkdirSync(where)
    const target = join(where, 'f.txt')
    writeFileSync(target, 'previous')
    const socket = await slowUpload(d, target)
    await waitFor('the upload to stage its temp file', () => temps(where).length === 1)
    expect(await d.stop()).toBe(0)
    socket.end()
    expect(temps(where)).toEqual([])
    expect(readFileSync(target, 'utf8')).toBe('previous')
  }, 30_000)

  test.skipIf(!otherDevice)(
    'during a move across filesystems: its partial copy is removed',
    async () => {
      const d = await start()
      const src = join(shm, 'tree-term')
      makeTree(src)
      const where = join(dir, 'move-term')
      mkdirSync(where)
      const dest = join(where, 'tree')
      const moving = d.fetch('/files/mv', { method: 'POST', body: JSON.stringify([{ src, dest }]) }).catch(() => {})
      await waitFor('the copy to start', () => temps(where).length === 1)
      expect(await d.stop()).toBe(0)
      await moving
      expect(temps(where)).toEqual([])
      // Stopped before the copy was renamed into place (the source whole), or after (the copy whole).
      if (existsSync(dest)) expect(filesUnder(dest)).toBe(4000)
      else expect(filesUnder(src)).toBe(4000)
    },
    60_000,
  )
})

/** execd's journals of staged entries in the temp dir (`execd-staged-<pid>-*`) of the daemon `pid`. */
const journalsOf = (pid: number) => readdirSync(tmpdir()).filter(n => n.startsWith(`execd-staged-${pid}-`))
/** The entries those journals name (a symlink each, beside the journal's lock). */
const journalled = (pid: number) =>
  journalsOf(pid).flatMap(j => readdirSync(join(tmpdir(), j)).filter(n => n !== '.owner.sock'))

describe('execd killed by SIGKILL', () => {
  /** Kills `d` mid-upload of `target` (one temp file beside it); returns the temp's name. */
  async function killedUploading(where: string, target: string): Promise<{ temp: string; pid: number }> {
    const d = await start()
    const socket = await slowUpload(d, target)
    // Journalled just after it is made: a kill in between leaves it (its name says what it is).
    await waitFor(
      'the upload to stage and journal its temp file',
      () => temps(where).length === 1 && journalled(d.proc.pid).length === 1,
    )
    d.proc.kill('SIGKILL')
    await d.proc.exited
    socket.end()
    const [temp] = temps(where)
    if (!temp) throw new Error('the kill took the temp file along')
    return { temp, pid: d.proc.pid }
  }

  test('during an upload: the next execd removes the temp file at its start, the previous file intact', async () => {
    const where = join(dir, 'upload-kill')
    mkdirSync(where)
    const target = join(where, 'f.txt')
    writeFileSync(target, 'previous')
    const { pid } = await killedUploading(where, target)
    const next = await start()
    // The first files request waits for the section to open, which sweeps first.
    expect((await next.fetch(`/files/info?path=${encodeURIComponent(target)}`)).status).toBe(200)
    expect(temps(where)).toEqual([])
    expect(journalsOf(pid)).toEqual([])
    expect(readFileSync(target, 'utf8')).toBe('previous')
  }, 30_000)

  test('an entry the journal names that is another file by now (same name, another inode) is left alone', async () => {
    const where = join(dir, 'upload-kill-swapped')
    mkdirSync(where)
    const target = join(where, 'f.txt')
    writeFileSync(target, 'previous')
    const { temp, pid } = await killedUploading(where, target)
    // Often with the same inode number: ext4 hands a freed inode to the next file at once.
    rmSync(join(where, temp))
    writeFileSync(join(where, temp), 'a file of the user')
    const next = await start()
    expect((await next.fetch(`/files/info?path=${encodeURIComponent(target)}`)).status).toBe(200)
    expect(journalsOf(pid)).toEqual([])
    expect(readFileSync(join(where, temp), 'utf8')).toBe('a file of the user')
  }, 30_000)
})

describe('a client that goes away', () => {
  test('stops its replace: the temp file is removed and the file is as it was', async () => {
    const d = await start()
    const where = join(shm || dir, 'replace-abort')
    mkdirSync(where)
    const file = join(where, 'big.txt')
    const line = `${'lorem ipsum dolor sit amet '.repeat(37)}NEEDLE\n`
    writeFileSync(file, line.repeat(Math.ceil((128 * MiB) / line.length)))
    const before = Bun.hash(readFileSync(file))
    const client = new AbortController()
    const replacing = d
      .fetch('/files/replace', {
        method: 'POST',
        body: JSON.stringify({ [file]: { old: 'NEEDLE', new: 'pin' } }),
        signal: client.signal,
      })
      .catch(() => {})
    await waitFor('the replace to stage its temp file', () => temps(where).length === 1)
    client.abort()
    await replacing
    await waitFor('the temp file to go', () => temps(where).length === 0)
    expect(Bun.hash(readFileSync(file))).toBe(before)
  }, 60_000)

  test.skipIf(!otherDevice)(
    'stops its move across filesystems: the partial copy is removed, the source whole',
    async () => {
      const d = await start()
      const src = join(shm, 'tree-abort')
      makeTree(src)
      const where = join(dir, 'move-abort')
      mkdirSync(where)
      const dest = join(where, 'tree')
      const client = new AbortController()
      const moving = d
        .fetch('/files/mv', { method: 'POST', body: JSON.stringify([{ src, dest }]), signal: client.signal })
        .catch(() => {})
      await waitFor('the copy to start', () => temps(where).length === 1)
      client.abort()
      await moving
      await waitFor('the partial copy to go', () => temps(where).length === 0)
      expect(existsSync(dest)).toBe(false)
      expect(filesUnder(src)).toBe(4000)
    },
    60_000,
  )
})
