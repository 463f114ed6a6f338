/**
 * A javascript cell's own `process.send({ t: 'bulk', text })`, no display after it: execd heard
 * the pieces as its driver's value and spilled them, held until the context's next cell, up to
 * 128 MiB a context, so a few contexts left TMPDIR no room for another's large value
 * (OutputTooLarge). The driver's pieces come on its pipe (fd 3), so execd drops `bulk` heard on
 * the channel (fd 4). On a small tmpfs TMPDIR (a spill takes at most a quarter of its free
 * space); needs root and mount(8), skipped loudly otherwise.
 */
import { describe, expect, test } from 'bun:test'
import { statfsSync } from 'node:fs'
import { join } from 'node:path'
import { daemonWithDirAtLoad } from './kit/daemon-dir'
import { createContext, expectWellFormed, ofType, resultText, runCode } from './runtime-kit'

const fx = daemonWithDirAtLoad('js-send-bulk', () => (mounted ? { env: { TMPDIR: dir } } : null))
const dir = join(fx.tmp, 'spill')
const mounted = process.getuid?.() === 0 && fx.mounts.mount('-t', 'tmpfs', '-o', 'size=64m', 'tmpfs', dir)
if (!mounted) console.warn('skipped: spec/js-send-bulk.test.ts needs root and mount(8) (mount -t tmpfs failed)')

/**
 * 14 pieces of 1,000,000 characters of one JSON object's start, as the driver's `bulk` would be:
 * 13.4 MiB, under the quarter of 64 MiB a spill may take, so it is spilled whole.
 */
const forged = `
process.send({ t: 'bulk', text: '{"text/plain":"' })
for (let i = 0; i < 14; i++) process.send({ t: 'bulk', text: 'x'.repeat(1_000_000) })
42`

const usedMiB = () => {
  const s = statfsSync(dir)
  return ((s.blocks - s.bfree) * s.bsize) / 2 ** 20
}

describe.skipIf(!mounted)('a javascript cell’s own value pieces on its channel (fd 4)', () => {
  test('hold nothing in TMPDIR: another context’s 14 MB value still fits in 64 MiB', async () => {
    const before = usedMiB()
    const id = await createContext(fx.d, 'javascript')
    const events = await runCode(fx.d, forged, { id })
    expectWellFormed(events, id)
    expect(ofType(events, 'error')).toEqual([])
    expect(resultText(events)).toEqual(['42'])
    // Held, 13.4 MiB of the tmpfs stayed used, and the value below needed 4 × 13.4 MiB free.
    // The cell's end waits for the driver's `sent` on the channel, behind the cell's own sends.
    expect(usedMiB() - before).toBeLessThan(4)

    const other = await createContext(fx.d, 'javascript')
    const value = await runCode(fx.d, `'<b>' + 'y'.repeat(14_000_000) + '</b>'`, { id: other })
    expectWellFormed(value, other)
    expect(ofType(value, 'error').map(e => e.error.evalue)).toEqual([])
    expect(ofType(value, 'result').map(r => (r.results['text/html'] as string).length)).toEqual([14_000_007])
    for (const c of [id, other])
      expect((await fx.d.fetch(`/code/contexts/${c}`, { method: 'DELETE' })).status).toBe(200)
  }, 60_000)
})
