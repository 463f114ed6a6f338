/**
 * Bodies sent as chunks of one byte each (Transfer-Encoding: chunked, six bytes on the wire per
 * byte of body), through the compiled executable. Each chunk cost execd a timer and promises
 * (JSON bodies) or a parse step (uploads), and reads of chunks Bun had queued never let the
 * event loop turn: 4 MB of JSON took 8.7-12.4 s of execd's CPU and held /ping 4.3-5.6 s, a 2 MB
 * upload 2.2 s and 3.3 s. Bounded here by CPU seconds, as other tests bound memory: the build
 * before spends over 3 s on each.
 */
import { beforeAll, describe, expect, test } from 'bun:test'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { postJson } from './harness'
import { daemonWithDir } from './kit/daemon-dir'
import { portOf } from './raw-http'

const fx = daemonWithDir('tiny-chunks')
beforeAll(async () => {
  ;(await postJson(fx.d, '/command', { command: 'true' })).body?.cancel()
})

/** execd's own CPU seconds so far (user + system). */
const cpuSeconds = () => {
  const fields = readFileSync(`/proc/${fx.d.proc.pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

/** `body` sent in 1-byte chunks after `head`; the whole reply, once execd closes the connection. */
function sendInTinyChunks(head: string, body: Buffer): Promise<string> {
  const wire: Buffer[] = []
  const open = Buffer.from('1\r\n')
  const close = Buffer.from('\r\n')
  for (let i = 0; i < body.length; i++) wire.push(open, body.subarray(i, i + 1), close)
  wire.push(Buffer.from('0\r\n\r\n'))
  return new Promise((resolve, reject) => {
    const socket = connect(portOf(fx.d.url), '127.0.0.1')
    let data = ''
    socket.setEncoding('utf8')
    socket.on('data', chunk => (data += chunk))
    socket.on('close', () => resolve(data))
    socket.on('error', reject)
    socket.write(
      `${head}\r\nHost: 127.0.0.1\r\nX-EXECD-ACCESS-TOKEN: ${fx.d.token}\r\n` +
        'Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n',
    )
    socket.write(Buffer.concat(wire))
  })
}

describe('a body of 1-byte chunks', () => {
  test('JSON: 3 MB cost execd little CPU, and arrive whole', async () => {
    const text = '\u00e9\u20ac\u{1f600}a'.repeat(10_000) // 100 KB, characters cut across chunks
    const body = Buffer.from(
      JSON.stringify({ command: `printf %s '${text}' | sha256sum`, padding: 'x'.repeat(3 << 20) }),
    )
    const before = cpuSeconds()
    const reply = await sendInTinyChunks('POST /command HTTP/1.1\r\nContent-Type: application/json', body)
    const spent = cpuSeconds() - before
    expect(reply).toContain(`"text":"${createHash('sha256').update(text).digest('hex')}  -"`)
    expect(spent).toBeLessThan(1.5)
  }, 60_000)

  test('an upload: 3 MB cost execd little CPU, and arrive whole', async () => {
    const path = join(fx.tmp, 'tiny.bin')
    const data = Buffer.alloc(3 << 20)
    for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 11)) & 255
    const body = Buffer.concat([
      Buffer.from(
        '--XB\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n' +
          `${JSON.stringify({ path })}\r\n--XB\r\n` +
          'Content-Disposition: form-data; name="file"; filename="tiny.bin"\r\nContent-Type: application/octet-stream\r\n\r\n',
      ),
      data,
      Buffer.from('\r\n--XB--\r\n'),
    ])
    const before = cpuSeconds()
    const reply = await sendInTinyChunks(
      'POST /files/upload HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=XB',
      body,
    )
    const spent = cpuSeconds() - before
    expect(reply).toStartWith('HTTP/1.1 200')
    expect(readFileSync(path).equals(data)).toBe(true)
    expect(spent).toBeLessThan(1.5)
  }, 60_000)
})
