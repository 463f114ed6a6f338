/**
 * A javascript cell's own `process.send` of displays, its client reading nothing. The channel
 * (fd 4) is not paused for a lagging reader, as the driver's pipe is: it carries the `sent` a
 * cell's end waits for. What a cell sent there was queued whatever its size: 1,000 sends of a
 * 1 MB bundle took execd past 550 MiB in 25 s, any context at once. Past the cell's bound they
 * are dropped now, as its `process.send` of stdout was. The same displays written as frames on
 * the driver's pipe (fd 3) were queued as well (400 MiB in 25 s): the pipe now waits for the
 * reader after a message, as after output.
 */
import { describe, expect, test } from 'bun:test'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { waitFor } from './harness'
import { daemonWithDir } from './kit/daemon-dir'
import { cellWithin } from './kit/interpreter-replaced'
import { postUnread } from './kit/narrow-reader'
import { heldMiB } from './kit/peak-memory'
import { waitsIn } from './kit/waits-in'
import { createContext, resultText } from './runtime-kit'

/** Sends of 1 Mi characters each: held, 128 MiB and more of execd. */
const SENDS = 128

const floodCell = (marker: string) => `
const bundle = { 'text/plain': 'x'.repeat((1 << 20) - 64) }
for (let i = 0; i < ${SENDS}; i++) process.send({ t: 'display', bundle })
require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'sent')
42`

/**
 * The same displays as whole frames of the driver's own on its pipe (fd 3, blocking): its pid to
 * `marker`.pid first, the frames written so far to `marker`.n, `sent` to `marker` once all are.
 */
const framesCell = (marker: string) => `
const fs = require('node:fs')
fs.writeFileSync(${JSON.stringify(`${marker}.pid`)}, String(process.pid))
const json = Buffer.from(JSON.stringify({ t: 'display', bundle: { 'text/plain': 'x'.repeat((1 << 20) - 64) } }))
const head = Buffer.alloc(5)
head[0] = 3
head.writeUInt32LE(json.length, 1)
const frame = Buffer.concat([head, json])
for (let i = 0; i < ${SENDS}; i++) {
  fs.writeSync(3, frame)
  fs.writeFileSync(${JSON.stringify(`${marker}.n`)}, String(i + 1))
}
fs.writeFileSync(${JSON.stringify(marker)}, 'sent')
42`

/**
 * The cell wrote all (its marker is there), or its interpreter waits in a write on fd 3 with no
 * frame more written across 40 looks (waitFor's, ~1 s): the pipe waits for the reader. (That
 * wait alone is no sign: with execd reading behind, the writer waits most of the time.)
 */
function sentOrHeld(marker: string): () => boolean {
  let held = 0
  let written = ''
  const read = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8') : '')
  return () => {
    if (existsSync(marker)) return true
    const [pid, now] = [Number(read(`${marker}.pid`)), read(`${marker}.n`)]
    held = pid > 0 && now === written && waitsIn(pid) === 'send' ? held + 1 : 0
    written = now
    return held >= 40
  }
}

describe('a javascript cell’s own displays, its client reading nothing', () => {
  const fx = daemonWithDir('js-send-unread')

  /** Runs `cell` (given its marker) for a client that reads nothing; execd's growth once it marks. */
  async function unreadGrowth(cell: (marker: string) => string, name: string): Promise<number> {
    const id = await createContext(fx.d, 'javascript')
    const before = await heldMiB(fx.d.proc.pid, 5)
    const marker = join(fx.tmp, name)
    const silent = await postUnread(fx.d, '/code', { code: cell(marker), context: { id } })
    try {
      await waitFor('the cell’s sends', sentOrHeld(marker), 60_000)
      return (await heldMiB(fx.d.proc.pid, 5)) - before
    } finally {
      await silent.close()
      expect(resultText(await cellWithin(fx.d, id, '6 * 7'))).toEqual(['42'])
    }
  }

  // Held: 128 MiB more than before (151 on the build before); not held, what the reads left.
  test(`${SENDS} process.send displays of 1 MB are dropped past the bound; the context goes on`, async () => {
    expect(await unreadGrowth(floodCell, 'sent')).toBeLessThan(64)
  }, 120_000)

  test(`${SENDS} display frames of 1 MB on fd 3 wait for the reader; the context goes on`, async () => {
    expect(await unreadGrowth(framesCell, 'frames')).toBeLessThan(64)
  }, 120_000)
})
