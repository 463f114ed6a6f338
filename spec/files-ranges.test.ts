/**
 * A download asked for several byte ranges (`Range: bytes=0-1,5-6`) answers 200 with the whole
 * file, as RFC 9110 lets a server ignore Range: the first range alone went out as a 206, and a
 * client (curl) wrote those bytes as if they were all it had asked for.
 */
import { expect, test } from 'bun:test'
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { daemonWithDirAtLoad } from './kit/daemon-dir'

const fx = daemonWithDirAtLoad('ranges', () => {
  writeFileSync(file, content)
  return []
})
const dir = fx.tmp
const file = join(dir, 'digits.txt')
const content = '0123456789'

const download = (range: string, method = 'GET') =>
  fx.d.fetch(`/files/download?path=${encodeURIComponent(file)}`, { method, headers: { Range: range } })

test('two or more ranges: 200 with the whole file, no Content-Range', async () => {
  for (const range of ['bytes=0-1,5-6', 'bytes=0-1, 0-1', 'bytes=-2,0-', 'bytes=0-1,5-6,8-']) {
    const res = await download(range)
    expect([range, res.status, res.headers.get('content-range')]).toEqual([range, 200, null])
    expect(res.headers.get('content-length')).toBe(String(content.length))
    expect(await res.text()).toBe(content)
  }
  const head = await download('bytes=0-1,5-6', 'HEAD')
  expect([head.status, head.headers.get('content-length'), head.headers.get('content-range')]).toEqual([
    200,
    String(content.length),
    null,
  ])
})

test('one satisfiable range among others that are not: that one, a 206', async () => {
  const res = await download('bytes=50-60,5-6')
  expect([res.status, res.headers.get('content-range'), await res.text()]).toEqual([206, 'bytes 5-6/10', '56'])
  const one = await download('bytes=2-4')
  expect([one.status, one.headers.get('content-range'), await one.text()]).toEqual([206, 'bytes 2-4/10', '234'])
})

test.skipIf(!Bun.which('curl'))('curl -r 0-1,5-6 writes the whole file, with status 200', () => {
  const url = `${fx.d.url}/files/download?path=${encodeURIComponent(file)}`
  const r = spawnSync('curl', [
    '-s',
    '-r',
    '0-1,5-6',
    '-H',
    `X-EXECD-ACCESS-TOKEN: ${fx.d.token}`,
    '-w',
    '\n%{http_code}',
    url,
  ])
  expect(r.stdout.toString()).toBe(`${content}\n200`)
})
