/**
 * A pipeline whose next stage reads slower than the run writes (`execd exec … | less` at its
 * first page, a busy stage): execd took the run's output as fast as it came and queued what its
 * reader had not taken, its memory growing with the whole output (`exec --shell yes` 240 MB in
 * 6 s, a bash cell 635 MB). It now waits for its reader, and the run's writer waits on its pipe,
 * as `yes | less` does. A reader takes one line and stops until told; the run's writer must come
 * to a stop before its end, then every line arrives. Here only: over --url the sockets' buffers
 * (loopback's grow to 32 MiB) hold more than a cell's output may be (16 MiB).
 */
import { describe, expect, test } from 'bun:test'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { BIN, pidsWith, waitFor } from './harness'
import { daemonWithDir } from './kit/daemon-dir'

// Its temp dir only: the runs are this machine's (no daemon).
const fx = daemonWithDir('slow-reader', () => null)

/** Lines of 201 bytes, 10 MB: a number of this run's, so the writer's command line is its own. */
const LINES = 50_000 + Math.floor(Math.random() * 9_999)
const writer = `head -n ${LINES}`

/** The writer's bytes written, or null once it has gone (its run ended). */
function written(pid: number): number | null {
  try {
    return Number(/wchar: (\d+)/.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1])
  } catch {
    return null
  }
}

async function stalled(words: string[]): Promise<{ stopped: boolean; lines: string; code: string }> {
  const go = join(fx.tmp, `go-${words[1]}`)
  const out = join(fx.tmp, `out-${words[1]}`)
  // Reads one line, then nothing until `go` exists; then counts the rest and says execd's status.
  const reader = `"$0" "$@" | { read -r first; until [ -e "${go}" ]; do sleep 0.05; done; wc -l > "${out}"; }; echo "\${PIPESTATUS[0]}" >> "${out}"`
  const p = Bun.spawn(['bash', '-c', reader, BIN, ...words], {
    stdin: 'ignore',
    stdout: 'ignore',
    stderr: 'inherit',
    env: { ...process.env, EXECD_ACCESS_TOKEN: '', TMPDIR: fx.tmp },
  })
  let pid: number | undefined
  await waitFor('the writer', () => (pid = pidsWith(writer)[0]) !== undefined || existsSync(out), 30_000)
  // Stopped: its bytes the same a second apart. Gone: execd took all of its output.
  let stopped = false
  let last = -1
  await waitFor(
    'the writer to stop or end',
    async () => {
      const now = pid === undefined ? null : written(pid)
      if (now === null) return true
      stopped = now === last
      last = now
      if (!stopped) await Bun.sleep(1000)
      return stopped
    },
    90_000,
  )
  writeFileSync(go, '')
  await p.exited
  const [lines = '', code = ''] = readFileSync(out, 'utf8').trim().split('\n')
  return { stopped, lines: lines.trim(), code: code.trim() }
}

const line = 'y'.repeat(200)
const CASES: [string, string[]][] = [
  ['exec --shell', ['exec', '--shell', `yes ${line} | ${writer}`]],
  ['a bash cell', ['exec', 'bash', `yes ${line} | ${writer}`]],
]

describe('a reader slower than the run: execd waits for it', () => {
  for (const [what, words] of CASES) {
    test(
      what,
      async () => {
        // Its writer stopped by its pipe before its end; then every line (one read before) and 0.
        expect(await stalled(words)).toEqual({ stopped: true, lines: String(LINES - 1), code: '0' })
      },
      180_000,
    )
  }
})
