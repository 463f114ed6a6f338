/**
 * An image a cell shows is written to a file in the current directory; when it cannot be (a full
 * disk, a directory removed or not writable) the write's throw left the cell's stream unread:
 * what the cell printed after the image never came (exit 1 with `execd: no space left on
 * device`, no path), at a prompt the cell ran on unseen, and the disk kept the image's first
 * part under its name. Now the image is said lost in one line, the cell's output goes on, and
 * a one-shot run exits 1 as cp does after a file it could not write.
 */
import { describe, expect, test } from 'bun:test'
import { readdirSync } from 'node:fs'
import { BIN, runCli } from './harness'
import { scratchWithDisks } from './kit/small-disk'
import { hasTool, terminal } from './kit/tmux'

const scratch = scratchWithDisks('cli-image-unwritten')
const root = process.getuid?.() === 0

// 200 KB of PNG on a 64 KiB disk: the write fails midway, after a part of it is on the disk.
const SHOW = [
  'import os',
  'from IPython.display import display',
  'class Pic:',
  '    def _repr_png_(self): return os.urandom(200_000)',
  'display(Pic())',
  'print("after")',
].join('\n')

const hasIPython = Bun.spawnSync([process.env.EXECD_PYTHON || 'python3', '-c', 'import IPython']).exitCode === 0

describe.skipIf(!root || !hasIPython)('an image that cannot be written (a full disk)', () => {
  test('a one-shot run: one line naming the file, the output after it, exit 1, nothing left', async () => {
    const disk = scratch.smallDisk('64k')
    const r = await runCli(['exec', 'python', SHOW], { cwd: disk })
    expect([r.code, r.stdout]).toEqual([1, 'after\n'])
    expect(r.stderr).toMatch(/^execd: image\/png not written to \S+\/execd-[\w-]+-1\.png: no space left on device\n$/)
    expect(readdirSync(disk)).toEqual([])
  }, 60_000)

  test.skipIf(!hasTool('tmux'))(
    'at a prompt: the line, the cell goes on, the next cell runs',
    async () => {
      const disk = scratch.smallDisk('64k')
      const term = terminal('execd-image-unwritten')
      try {
        term.shell()
        term.keys(`cd ${disk} && ${BIN} exec python; echo "status $?"`, 'Enter')
        await term.shows(/^python>/m)
        // One line (the prompt's own editor takes a block pasted, not typed keys).
        term.keys(`exec(${JSON.stringify(SHOW)})`, 'Enter')
        await term.shows('image/png not written')
        await term.shows(/^after$/m)
        term.keys('print(6 * 7)', 'Enter')
        await term.shows(/^42$/m)
        term.keys('C-d')
        await term.shows('status 0')
        expect(readdirSync(disk)).toEqual([])
      } finally {
        term.close()
      }
    },
    60_000,
  )
})
