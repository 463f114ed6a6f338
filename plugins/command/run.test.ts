import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { CgroupTree } from '../../core/cgroup'
import { closeCgroups, confineWithCgroups } from '../../core/cgroup-confinement'
import { readStat } from '../../core/procfs'
import { collected } from '../../spec/kit/collected'
import { CommandOps } from './ops'
import type { CommandRecord } from './store'

const probe = CgroupTree.open()
probe?.close()

/** Runs `command` to its terminal event; the record and what it printed. */
async function ran(ops: CommandOps, command: string): Promise<{ record: CommandRecord; stdout: string[] }> {
  const record = ops.start({ command })
  const stdout: string[] = []
  for await (const item of record.journal!.read(0)) {
    const e = 'event' in item && typeof item.event === 'object' ? item.event : item
    if ('type' in e && e.type === 'stdout') stdout.push(String(e.text))
  }
  await record.done
  return { record, stdout }
}

const running = (pid: number) => !['Z', undefined].includes(readStat(pid)?.state)

// Confined as serve confines them: a leaf tells at once that nothing of a command runs.
describe.skipIf(probe === undefined)('a finished command and its process', () => {
  let ops: CommandOps
  beforeAll(() => {
    confineWithCgroups()
    ops = new CommandOps({
      logMaxBytes: 1 << 20,
      logTotalBytes: 1 << 30,
      interruptGraceMs: 200,
      retention: { count: 256, ageMs: 3_600_000, bytes: 1 << 30, journals: 16 },
    })
  })
  afterAll(() => {
    ops.close()
    closeCgroups()
  })

  test('is let go of once nothing of it runs: the record keeps no process object and its streams', async () => {
    const { record } = await ran(ops, 'echo hi')
    // Made in a frame of its own, so no stack slot of this one holds the process object.
    const ref = ((r: CommandRecord) => new WeakRef(r.proc!.proc))(record)
    expect([await collected(ref), ops.status(record.id)]).toMatchObject([true, { running: false, exit_code: 0 }])
  })

  test('is kept while what it left running runs, so an interrupt still ends that', async () => {
    const { record, stdout } = await ran(ops, 'sleep 30 & echo $!')
    const sleep = Number(stdout[0])
    expect([record.proc !== undefined, running(sleep)]).toEqual([true, true])
    expect(await ops.interrupt(record.id)).toBe(true)
    for (let i = 0; i < 100 && running(sleep); i++) await Bun.sleep(10)
    expect(running(sleep)).toBe(false)
    for (let i = 0; i < 100 && record.proc; i++) await Bun.sleep(10)
    expect(record.proc).toBeUndefined()
  })
})
