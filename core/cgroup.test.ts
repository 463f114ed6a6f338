/**
 * The cgroup tree's leaves: a process moved into one, a leaf kept for the next process once it
 * is empty, never while something runs in it nor once frozen. Runs where cgroup v2 is writable
 * (root in a VM or a container with its own cgroup namespace); skipped elsewhere.
 */
import { afterEach, expect, test } from 'bun:test'
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { CgroupTree } from './cgroup'

const probe = CgroupTree.open()
probe?.close()
const writable = probe !== undefined

const trees: CgroupTree[] = []
const children: ReturnType<typeof Bun.spawn>[] = []
afterEach(async () => {
  for (const c of children.splice(0)) {
    c.kill('SIGKILL')
    await c.exited
  }
  for (const t of trees.splice(0)) await t.closeSoon()
})

function open(): CgroupTree {
  const t = CgroupTree.open()!
  trees.push(t)
  return t
}

function sleeper(): ReturnType<typeof Bun.spawn> {
  const c = Bun.spawn(['sleep', '60'], { stdio: ['ignore', 'ignore', 'ignore'] })
  children.push(c)
  return c
}

/** The cgroup v2 path of `pid`, as /proc shows it. */
const cgroupOf = (pid: number) => /^0::(.*)$/m.exec(readFileSync(`/proc/${pid}/cgroup`, 'latin1'))?.[1]

test.skipIf(!writable)('a process moved into a leaf is in it; the leaf is kept only once it is empty', async () => {
  const t = open()
  const leaf = t.take()!
  const c = sleeper()
  expect(await t.confine(c.pid, leaf)).toBe(true)
  expect(leaf.endsWith(cgroupOf(c.pid)!)).toBe(true)
  expect(t.recycle(leaf)).toBe(false) // the sleep still runs in it
  c.kill('SIGKILL')
  await c.exited
  expect(t.recycle(leaf)).toBe(true)
  expect(t.take()).toBe(leaf) // reused, not made again
  expect(t.take()).not.toBe(leaf)
})

test.skipIf(!writable)('a frozen leaf is not kept for the next process', async () => {
  const t = open()
  const leaf = t.take()!
  writeFileSync(join(leaf, 'cgroup.freeze'), '1')
  expect(t.recycle(leaf)).toBe(true)
  expect(t.take()).not.toBe(leaf)
  // removed once empty (at once here: nothing ran in it)
  for (let i = 0; i < 100 && existsSync(leaf); i++) await Bun.sleep(10)
  expect(existsSync(leaf)).toBe(false)
})

test.skipIf(!writable)('a kept leaf that was removed meanwhile is made again for the move', async () => {
  const t = open()
  const leaf = t.take()!
  expect(t.recycle(leaf)).toBe(true)
  // what another execd's sweep of empty trees does
  rmdirSync(leaf)
  rmdirSync(t.dir)
  const again = t.take()!
  expect(again).toBe(leaf)
  const c = sleeper()
  expect(await t.confine(c.pid, again)).toBe(true)
  expect(again.endsWith(cgroupOf(c.pid)!)).toBe(true)
})

test.skipIf(!writable)('a leaf whose process was gone before the move is kept for the next one', async () => {
  const t = open()
  const leaf = t.take()!
  const c = Bun.spawn(['true'])
  await c.exited
  expect(await t.confine(c.pid, leaf)).toBe(false)
  expect(t.take()).toBe(leaf)
})

test.skipIf(!writable)(
  'holds: whether a process runs in the leaf; not once it is a zombie, nor one never moved',
  async () => {
    const t = open()
    const leaf = t.take()!
    // The background sleep's parent execs into a sleep that never reaps it: it stays a zombie.
    const parent = Bun.spawn(['bash', '-c', 'sleep 0.3 & echo $!; exec sleep 60'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    })
    children.push(parent)
    const reader = (parent.stdout as ReadableStream<Uint8Array>).getReader()
    const pid = Number(new TextDecoder().decode((await reader.read()).value).trim())
    reader.releaseLock()
    expect(t.holds(leaf, pid)).toBe(false) // not moved yet
    expect(await t.confine(pid, leaf)).toBe(true)
    expect(t.holds(leaf, pid)).toBe(true)
    expect(t.holds(leaf, parent.pid)).toBe(false)
    let state = ''
    for (let i = 0; i < 200 && state !== 'Z'; i++) {
      await Bun.sleep(10)
      state = /\) (\S)/.exec(readFileSync(`/proc/${pid}/stat`, 'latin1'))?.[1] ?? ''
    }
    expect(state).toBe('Z')
    expect(t.holds(leaf, pid)).toBe(false)
  },
)

test.skipIf(!writable)("opening a tree sweeps exited execd's empty trees, not a live one's", async () => {
  const live = open()
  const gone = Bun.spawn(['true'])
  await gone.exited
  const parent = join(live.dir, '..')
  const stale = join(parent, `execd-${gone.pid}-0badc0de`)
  mkdirSync(join(stale, '1'), { recursive: true })
  open()
  expect(existsSync(live.dir)).toBe(true)
  expect(existsSync(stale)).toBe(false)
})
