/**
 * What the tenth attacker's pass found (values that pass the schema and then do harm: names,
 * environments, sizes): each test fails on the executable before its fix. No timing: answers
 * are read whole and their statuses, codes and bytes compared.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startDaemon, type Daemon } from './harness'

let d: Daemon
let scratch: string
beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'execd-spec-values-'))
  d = await startDaemon()
})
afterAll(async () => {
  await d.stop()
  rmSync(scratch, { recursive: true, force: true })
})

const download = (path: string, method = 'GET') =>
  d.fetch(`/files/download?path=${encodeURIComponent(path)}`, { method })

describe('a file whose name is no quoted-string downloads, its name percent-encoded', () => {
  // A newline or CR in the name made Content-Disposition an invalid header: a 500
  // RUNTIME_ERROR "Header 'Content-Disposition' has invalid value" for GET and HEAD, so such a
  // file (made by any program in the sandbox) could not be downloaded at all. A quote ended the
  // filename parameter, so the name chose the header's other parameters.
  let dir: string
  beforeAll(() => {
    dir = join(scratch, 'names')
    mkdirSync(dir)
  })

  test('a newline or a CR in the name: 200 with the bytes, for GET and HEAD', async () => {
    for (const [name, encoded] of [
      ['new\nline', 'new%0Aline'],
      ['cr\rlf\r\nSet-Cookie: a=b', 'cr%0Dlf%0D%0ASet-Cookie:%20a=b'],
    ] as const) {
      writeFileSync(join(dir, name), 'payload')
      const res = await download(join(dir, name))
      expect(res.status).toBe(200)
      expect(await res.text()).toBe('payload')
      const disposition = res.headers.get('content-disposition') ?? ''
      expect(disposition).not.toMatch(/[\r\n]/)
      expect(disposition).toBe(`attachment; filename="${encoded}"; filename*=UTF-8''${encoded}`)
      expect(res.headers.get('set-cookie')).toBeNull()
      const head = await download(join(dir, name), 'HEAD')
      expect(head.status).toBe(200)
      expect(head.headers.get('content-length')).toBe('7')
    }
  })

  test('a quote in the name stays inside the filename parameter', async () => {
    const name = `a"; filename*=UTF-8''x.sh`
    writeFileSync(join(dir, name), 'q')
    const res = await download(join(dir, name))
    expect(res.status).toBe(200)
    const disposition = res.headers.get('content-disposition') ?? ''
    // One filename and one filename*, each naming the whole name.
    expect(disposition.match(/filename\*=/g)).toHaveLength(1)
    expect(disposition).toBe(
      `attachment; filename="a%22%3B%20filename%2A=UTF-8%27%27x.sh"; filename*=UTF-8''a%22%3B%20filename%2A=UTF-8%27%27x.sh`,
    )
    await res.arrayBuffer()
  })
})
