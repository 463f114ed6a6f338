/**
 * Requests that meet a default context while it starts. A go context's first start builds its
 * kernel (seconds, longer with an empty build cache: a private TMPDIR gives one), long enough
 * for other requests to come and go meanwhile.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { findGo } from '../plugins/go/toolchain'
import { postJson, readSse, startDaemon, type Daemon } from './harness'

const toolchain = await findGo(process.env.EXECD_GO || 'go')
const available: true | string = 'missing' in toolchain ? toolchain.missing : true

/** Whether a child of `pid` runs the program `name`. */
function childNamed(pid: number, name: string): boolean {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (Number(fields[1]) === pid && stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) === name) return true
    } catch {} // gone meanwhile
  }
  return false
}

describe.skipIf(available !== true)(
  `while the go default context starts${available === true ? '' : ` (skipped: ${available})`}`,
  () => {
    let d: Daemon
    let tmp: string
    beforeAll(async () => {
      tmp = mkdtempSync(join(tmpdir(), 'execd-race-'))
      d = await startDaemon({ env: { TMPDIR: tmp } })
    })
    afterAll(async () => {
      await d?.stop()
      rmSync(tmp, { recursive: true, force: true })
    })

    test('DELETE of a bash context answers at once, not once the go context has started', async () => {
      const bash = (await (await postJson(d, '/code/context', { language: 'bash' })).json()) as { id: string }
      const cell = postJson(d, '/code', { code: 'fmt.Println(6 * 7)', context: { language: 'go' } }).then(readSse)
      // The start is under way once execd runs the toolchain that builds the kernel.
      for (let i = 0; i < 1000 && !childNamed(d.proc.pid, 'go'); i++) await Bun.sleep(10)
      expect(childNamed(d.proc.pid, 'go')).toBe(true)
      const del = await d.fetch(`/code/contexts/${bash.id}`, { method: 'DELETE' })
      expect(del.status).toBe(200)
      const listed = (await (await d.fetch('/code/contexts?language=go')).json()) as unknown[]
      expect(listed).toEqual([])
      const frames = await cell
      expect(frames.filter(f => f.data.type === 'stdout').map(f => f.data.text)).toEqual(['42\n'])
      expect(frames.at(-1)?.data.type).toBe('execution_complete')
    }, 120_000)
  },
)
