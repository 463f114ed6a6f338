/**
 * Go cells interrupted while they compile. `go build` ended by the interrupt left its work dir
 * (`go-build*`) in TMPDIR, one per interrupted cell, for good: a loop of them filled the disk.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { findGo } from '../plugins/go/toolchain'
import { postJson, readSse, startDaemon, type Daemon } from './harness'

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

describe.skipIf(available !== true)(`go cells${available === true ? '' : ` (skipped: ${available})`}`, () => {
  let d: Daemon
  let tmp: string
  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'execd-gotmp-'))
    d = await startDaemon({ env: { TMPDIR: tmp } })
  })
  afterAll(async () => {
    await d?.stop()
    rmSync(tmp, { recursive: true, force: true })
  })

  test('interrupted while compiling leave no go-build dir in TMPDIR', async () => {
    const { id } = (await (await postJson(d, '/code/context', { language: 'go' })).json()) as { id: string }
    for (let i = 0; i < 3; i++) {
      const cell = postJson(d, '/code', { code: `v${i} := ${i}\nfmt.Println(v${i})`, context: { id } }).then(readSse)
      for (let n = 0; n < 1000 && !descendantNamed(d.proc.pid, 'go'); n++) await Bun.sleep(5)
      expect((await d.fetch(`/code?id=${id}`, { method: 'DELETE' })).status).toBe(200)
      const frames = await cell
      expect(frames.find(f => f.data.type === 'error')?.data.error.ename).toBe('KeyboardInterrupt')
    }
    expect(readdirSync(tmp).filter(name => name.startsWith('go-build'))).toEqual([])
    // The context goes on.
    const frames = await postJson(d, '/code', { code: 'fmt.Println("on")', context: { id } }).then(readSse)
    expect(frames.filter(f => f.data.type === 'stdout').map(f => f.data.text)).toEqual(['on\n'])
  }, 180_000)
})
