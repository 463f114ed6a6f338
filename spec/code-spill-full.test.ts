/**
 * Large values on a small temp disk: a python or javascript value too large for what TMPDIR
 * has free is dropped with the contract's OutputTooLarge error saying so (core/spilled-bytes.ts:
 * a spill takes at most a quarter of the free space), what the cell printed before it arrives,
 * the next value that fits arrives whole, and the daemon answers. A javascript value is spilled
 * as its pieces come, its size not told before: it is refused part way, its file given back at
 * once. Needs root and mount(8) for a small tmpfs; skipped loudly otherwise.
 */
import { describe, expect, test } from 'bun:test'
import { join } from 'node:path'
import { daemonWithDirAtLoad } from './kit/daemon-dir'
import { pythonAvailable } from './python-env'
import { createContext, expectWellFormed, ofType, runCode, stdoutText } from './runtime-kit'

const fx = daemonWithDirAtLoad('spill-full', () => (mounted ? { env: { TMPDIR: dir } } : null))
const dir = join(fx.tmp, 'spill')
const mounted = process.getuid?.() === 0 && fx.mounts.mount('-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', dir)
if (!mounted) console.warn('skipped: spec/code-spill-full.test.ts needs root and mount(8) (mount -t tmpfs failed)')

/** A cell printing `before`, then a value of `big` characters, then the next cell's of 2 MB. */
const CASES: Record<string, { big: (n: number) => string; fits: string; text: (s: string) => string }> = {
  python: {
    big: n => `print('before', flush=True)\n'x' * ${n}`,
    fits: `'y' * 2_000_000`,
    text: s => `'${s}'`,
  },
  javascript: {
    big: n => `console.log('before')\n;({_repr_html_: () => 'x'.repeat(${n})})`,
    fits: `'<b>' + 'y'.repeat(2_000_000) + '</b>'`,
    text: s => `<b>${s}</b>`,
  },
}

describe.skipIf(!mounted)('large values on a small temp disk (16 MiB)', () => {
  for (const [language, cell] of Object.entries(CASES)) {
    const skip = language === 'python' && pythonAvailable !== true
    test.skipIf(skip)(
      `${language}: a value past the room is OutputTooLarge naming TMPDIR; what fits comes whole`,
      async () => {
        const id = await createContext(fx.d, language)
        const events = await runCode(fx.d, cell.big(6_000_000), { id })
        expectWellFormed(events, id)
        expect(stdoutText(events)).toBe('before\n')
        const errors = ofType(events, 'error').map(e => [e.error.ename, e.error.evalue])
        expect(errors.length).toBe(1)
        expect(errors[0]![0]).toBe('OutputTooLarge')
        expect(errors[0]![1]).toContain(`${dir} (TMPDIR) has `)
        expect(ofType(events, 'result').length).toBe(0)
        expect(events.at(-1)!.type).toBe('execution_complete')

        const next = await runCode(fx.d, cell.fits, { id })
        expectWellFormed(next, id)
        const results = ofType(next, 'result')
        const key = language === 'python' ? 'text/plain' : 'text/html'
        expect(results.map(r => r.results[key])).toEqual([cell.text('y'.repeat(2_000_000))])
        expect((await fx.d.fetch('/ping')).status).toBe(200)
      },
    )
  }
})
