/**
 * Go contexts under requests that race their slow parts. A go context's first start builds its
 * kernel (seconds, longer with an empty build cache: a private TMPDIR gives one), and every cell
 * is compiled by `go build` before it runs.
 */
import { describe, expect, test } from 'bun:test'
import { readFileSync, readdirSync } from 'node:fs'
import { findGo } from '../plugins/go/toolchain'
import { postJson, readSse, type Daemon } from './harness'
import { daemonWithDir } from './kit/daemon-dir'

const toolchain = await findGo(process.env.EXECD_GO || 'go')
const available: true | string = 'missing' in toolchain ? toolchain.missing : true

/** Whether a process named `name` descends from `pid`. */
function descendantNamed(pid: number, name: string): boolean {
  const parents = new Map<number, number>()
  const names = new Map<number, string>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]))
      names.set(Number(entry), stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')))
    } catch {} // gone meanwhile
  }
  for (const [child, comm] of names) {
    if (comm !== name) continue
    for (let p = parents.get(child); p !== undefined && p > 1; p = parents.get(p)) if (p === pid) return true
  }
  return false
}

/** Until execd (or a kernel of it) runs the go toolchain. */
async function untilGoRuns(d: Daemon): Promise<void> {
  for (let n = 0; n < 1000 && !descendantNamed(d.proc.pid, 'go'); n++) await Bun.sleep(5)
  expect(descendantNamed(d.proc.pid, 'go')).toBe(true)
}

describe.skipIf(available !== true)(`go contexts${available === true ? '' : ` (skipped: ${available})`}`, () => {
  const fx = daemonWithDir('go-races', tmp => ({ env: { TMPDIR: tmp } }))

  // DELETE awaited every language's default start to learn whether it was the one deleted.
  test('while the default one starts, DELETE of a bash context answers at once, not once it has started', async () => {
    const bash = (await (await postJson(fx.d, '/code/context', { language: 'bash' })).json()) as { id: string }
    const cell = postJson(fx.d, '/code', { code: 'fmt.Println(6 * 7)', context: { language: 'go' } }).then(readSse)
    await untilGoRuns(fx.d) // the kernel's build
    expect((await fx.d.fetch(`/code/contexts/${bash.id}`, { method: 'DELETE' })).status).toBe(200)
    expect(await (await fx.d.fetch('/code/contexts?language=go')).json()).toEqual([])
    const frames = await cell
    expect(frames.filter(f => f.data.type === 'stdout').map(f => f.data.text)).toEqual(['42\n'])
    expect(frames.at(-1)?.data.type).toBe('execution_complete')
  }, 120_000)

  // `go build` ended by the interrupt left its work dir (go-build*) in TMPDIR, for good.
  test('cells interrupted while compiling leave no go-build dir in TMPDIR', async () => {
    const { id } = (await (await postJson(fx.d, '/code/context', { language: 'go' })).json()) as { id: string }
    for (let i = 0; i < 3; i++) {
      const cell = postJson(fx.d, '/code', { code: `v${i} := ${i}\nfmt.Println(v${i})`, context: { id } }).then(readSse)
      await untilGoRuns(fx.d)
      expect((await fx.d.fetch(`/code?id=${id}`, { method: 'DELETE' })).status).toBe(200)
      const frames = await cell
      expect(frames.find(f => f.data.type === 'error')?.data.error.ename).toBe('KeyboardInterrupt')
    }
    expect(readdirSync(fx.tmp).filter(name => name.startsWith('go-build'))).toEqual([])
    // The context goes on.
    const frames = await postJson(fx.d, '/code', { code: 'fmt.Println("on")', context: { id } }).then(readSse)
    expect(frames.filter(f => f.data.type === 'stdout').map(f => f.data.text)).toEqual(['on\n'])
  }, 180_000)
})
