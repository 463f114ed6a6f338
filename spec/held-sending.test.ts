/**
 * SIGUSR2's `slots held` line (core/held-slots.ts) names what holds execd beyond the capped
 * pools: the downloads still being sent, by route group and age (a --max-requests refusal only
 * counted them within `answered, still sending`), and the uploads' budget of open directories
 * (a quarter of the fd limit), by upload, with the directories each holds (only a refusal at
 * that budget named them). Both drain once their clients go, as the fuzz's quiescence check
 * expects of every pool.
 */
import { expect, test } from 'bun:test'
import { writeFileSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { join } from 'node:path'
import { askHeld, type Pool } from './fuzz/quiescence'
import { waitFor } from './harness'
import { daemonWithDirAtLoad } from './kit/daemon-dir'
import { portOf } from './raw-http'

const MiB = 1024 * 1024
const fx = daemonWithDirAtLoad('held-sending', () => {
  writeFileSync(big, Buffer.alloc(32 * MiB, 'b'))
  return ['--log-level', 'warn']
})
const dir = fx.tmp
// Larger than the loopback socket's buffers take: a client that never reads holds its answer.
const big = join(dir, 'big')

/** A socket that sends `head` (and `body`) and never reads a byte of the answer. */
function unread(head: string, body = ''): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(portOf(fx.d.url), '127.0.0.1', () => resolve(s))
    s.pause()
    s.on('error', reject)
    s.write(`${head}Host: x\r\nX-EXECD-ACCESS-TOKEN: ${fx.d.token}\r\n\r\n${body}`)
  })
}

/** An upload of three files, each in a new directory, whose body stops before its end. */
function unfinishedUpload(): Promise<Socket> {
  const b = 'held-sending'
  let body = ''
  for (let i = 0; i < 3; i++) {
    body += `--${b}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n{"path":"${dir}/up${i}/f"}\r\n`
    body += `--${b}\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\nx\r\n`
  }
  body += `--${b}\r\n`
  return unread(
    `POST /files/upload HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=${b}\r\nContent-Length: 1000000\r\n`,
    body,
  )
}

const poolOf = async (what: string): Promise<Pool | undefined> =>
  (await askHeld(fx.d))?.pools.find(p => p.what === what)

test('SIGUSR2 names the downloads still being sent and the uploads holding directories; both drain when their clients go', async () => {
  const clients: Socket[] = []
  try {
    for (let i = 0; i < 2; i++)
      clients.push(await unread(`GET /files/download?path=${encodeURIComponent(big)} HTTP/1.1\r\n`))
    clients.push(await unfinishedUpload())
    let downloads: Pool | undefined
    let uploads: Pool | undefined
    await waitFor('both downloads named and the upload holding its directories', async () => {
      downloads = await poolOf('downloads still sending')
      uploads = await poolOf('upload directories open')
      return downloads?.held === 2 && (uploads?.held ?? 0) >= 3
    })
    expect(downloads).toMatchObject({ max: 0, held: 2, byKind: { 'GET /files': 2 } })
    expect(downloads!.oldest.map(s => s.kind)).toEqual(['GET /files', 'GET /files'])
    expect(uploads!.byKind).toEqual({ upload: uploads!.held })
    expect(uploads!.oldest).toEqual([{ kind: 'upload', ms: expect.any(Number), units: uploads!.held }])
    // Nothing of what the clients sent: no path.
    expect(JSON.stringify([downloads, uploads])).not.toContain(dir)
  } finally {
    for (const c of clients) c.destroy()
  }
  await waitFor('the downloads and the upload given back', async () => {
    const pools = (await askHeld(fx.d))?.pools ?? []
    const held = (what: string) => pools.find(p => p.what === what)?.held
    return held('downloads still sending') === 0 && held('upload directories open') === 0
  })
}, 60_000)
