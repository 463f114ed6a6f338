/**
 * Large python values held for clients that do not read: each is one event, kept in a spilled
 * file until its client reads it (core/spilled-bytes.ts), where it was held whole in execd's
 * memory (16 contexts: ~2 GiB). A value's text/plain and its alias `text` are one string, kept
 * once (plugins/python/channel-messages.ts: aliased); a client that reads gets the bundle whole
 * as before (spec/code-large: byte for byte), whatever the others do.
 */
import { describe, expect, test } from 'bun:test'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { postJson, readSse, type Daemon } from './harness'
import { daemonWithDir } from './kit/daemon-dir'
import { heldMiB } from './kit/peak-memory'
import { waitsIn } from './kit/waits-in'
import { postUnread } from './kit/narrow-reader'
import { pythonAvailable } from './python-env'
import { createContext, expectWellFormed, ofType, type WireEvent } from './runtime-kit'

const VALUE = 60_000_000
/**
 * Contexts of unread values at once: 5, where 10 took twice the time to show the same. Held in
 * memory (4d52081a's parent) five held 355 MiB, ten 645; spilled, 85.
 */
const MANY = 5

/** The cell's code: its pid to `marker` once it runs, then a 60 MB string as its value. */
const valueCell = (marker: string) =>
  `import os\nopen(${JSON.stringify(marker)}, 'w').write(str(os.getpid()))\n'x' * ${VALUE}`

/** Every interpreter has run its cell and sent its value: each waits for its next cell. */
async function allSent(markers: string[]): Promise<void> {
  // Not a time: each one's state, read from the kernel.
  for (;;) {
    const pids = markers.map(m => (existsSync(m) ? Number(readFileSync(m, 'utf8')) : 0))
    if (pids.every(p => p > 0 && waitsIn(p) === 'recv')) return
    await Bun.sleep(100)
  }
}

/** A client that reads gets its whole 60 MB bundle, exactly, while the others hold theirs. */
async function readerGetsItsValue(d: Daemon): Promise<void> {
  const reader = await createContext(d, 'python')
  const res = await postJson(d, '/code', { code: `'y' * ${VALUE}`, context: { id: reader } })
  const events = (await readSse(res)).map(f => f.data as WireEvent)
  expectWellFormed(events, reader)
  const results = ofType(events, 'result')
  expect(results.length).toBe(1)
  expect(results[0]!.results['text/plain']).toBe(`'${'y'.repeat(VALUE)}'`)
  expect(results[0]!.results.text).toBe(results[0]!.results['text/plain'])
}

/** `cells` contexts each posting a 60 MB value and reading nothing past its init. */
async function unreadValues(d: Daemon, tmp: string, cells: number) {
  const ids = await Promise.all(Array.from({ length: cells }, () => createContext(d, 'python')))
  const markers = ids.map((_, i) => join(tmp, `cell-${i}`))
  const silent = await Promise.all(
    ids.map((id, i) => postUnread(d, '/code', { code: valueCell(markers[i]!), context: { id } })),
  )
  return { markers, close: () => Promise.all(silent.map(s => s.close())) }
}

describe.skipIf(pythonAvailable !== true)('python values held for clients that do not read, many contexts', () => {
  const fx = daemonWithDir('python-values-spilled')

  test(`${MANY} cells returning 60 MB strings, unread, keep them out of execd's memory; a reader meanwhile gets its value`, async () => {
    const unread = await unreadValues(fx.d, fx.tmp, MANY)
    try {
      await allSent(unread.markers)
      // Held in memory, 355 MiB (4d52081a's parent, load 25); spilled, 85: execd's own ~60, a
      // descriptor each and what the reads left. What is held, not the peak (446-687 MiB once).
      expect(await heldMiB(fx.d.proc.pid)).toBeLessThan(200)
      await readerGetsItsValue(fx.d)
    } finally {
      await unread.close()
    }
  }, 300_000)
})
