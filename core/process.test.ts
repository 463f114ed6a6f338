import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { closeSync, constants, existsSync, mkdtempSync, openSync, readFileSync, rmdirSync, rmSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { constants as osConstants, tmpdir } from 'node:os'
import { join } from 'node:path'
import { CgroupTree } from './cgroup'
import { closeCgroups, confineWithCgroups } from './cgroup-confinement'
import { readStat } from './procfs'
import { liveProcessCount, spawnOwned } from './process'
import { describeExit, shellStatusOf, signalOfWord } from './exit-words'
import { deathWords, runOutOfMemoryWords } from './oom'
import { groupAlive } from './process-groups'

const probe = CgroupTree.open()
probe?.close()
const cgroupsWritable = probe !== undefined

/** Pids of every process whose process group is `pgid`, zombies included. */
function groupMembers(pgid: number): { pid: number; state: string }[] {
  const out: { pid: number; state: string }[] = []
  for (const entry of new Bun.Glob('[0-9]*').scanSync({ cwd: '/proc', onlyFiles: false })) {
    const stat = readStat(entry)
    if (stat?.pgid === pgid) out.push({ pid: Number(entry), state: stat.state })
  }
  return out
}

/** A bash that forks a tree: two background sleeps, one of them with a child of its own. */
const TREE = 'sleep 300 & (sleep 301 & sleep 302; wait) & echo ready; wait'

async function readLine(stream: ReadableStream<Uint8Array>): Promise<string> {
  const reader = stream.getReader()
  const { value } = await reader.read()
  reader.releaseLock()
  return new TextDecoder().decode(value)
}

describe('spawnOwned', () => {
  test('a working directory that is gone is named as the cause, not the program', () => {
    // posix_spawn's ENOENT named the program ('bash'): a removed workspace read as a missing shell.
    expect(() => spawnOwned(['bash', '-c', 'true'], { cwd: '/nonexistent-execd-cwd' })).toThrow(
      'the working directory /nonexistent-execd-cwd does not exist (removed?)',
    )
  })

  test('the child leads its own process group', async () => {
    const p = spawnOwned(['bash', '-c', 'echo $$; ps -o pgid= $$'])
    const [pid, pgid] = (await new Response(p.stdout).text()).trim().split(/\s+/).map(Number)
    await p.exited
    expect(pid).toBe(p.pid)
    expect(pgid).toBe(p.pid)
  })

  test('kill ends the whole tree, grandchildren included, and leaves no zombie', async () => {
    const p = spawnOwned(['bash', '-c', TREE])
    expect(await readLine(p.stdout)).toBe('ready\n')
    // bash, sleep 300, the subshell, sleep 301, sleep 302
    for (let i = 0; i < 200 && groupMembers(p.pid).length < 5; i++) await Bun.sleep(10)
    expect(groupMembers(p.pid).length).toBe(5)
    const info = await p.kill('interrupt')
    expect(info.killedBy).toBe('interrupt')
    expect(groupAlive(p.pid)).toBe(false)
    // Killed grandchildren may linger as zombies until PID 1 reaps them; none may still run.
    expect(groupMembers(p.pid).filter(m => m.state !== 'Z')).toEqual([])
  })

  test('a child that ignores SIGTERM is killed with SIGKILL after the grace period', async () => {
    const p = spawnOwned(['bash', '-c', "trap '' TERM; echo ready; while :; do sleep 0.05; done"], { graceMs: 200 })
    expect(await readLine(p.stdout)).toBe('ready\n')
    const info = await p.kill('interrupt')
    expect(info.signal).toBe('SIGKILL')
    expect(describeExit(info)).toBe('signal: killed')
    expect(groupAlive(p.pid)).toBe(false)
  })

  test('a timeout kills the group and says so', async () => {
    const p = spawnOwned(['bash', '-c', 'sleep 30 & wait'], { timeoutMs: 100 })
    const info = await p.exited
    expect(info.killedBy).toBe('timeout')
    expect(info.code).toBeNull()
    // The leader is gone; the backgrounded sleep of its group must follow.
    for (let i = 0; i < 100 && groupAlive(p.pid); i++) await Bun.sleep(20)
    expect(groupAlive(p.pid)).toBe(false)
  })

  test('a child that exited as its timeout came is told as its own exit, not a timeout', async () => {
    // The loop blocked past the timeout with the child a zombie: its timer and its exit come due
    // in one turn, and the timer ran first ("exit status 0 (timeout after …)").
    for (const status of [0, 3, 0]) {
      const p = spawnOwned(['sh', '-c', `exit ${status}`], { timeoutMs: 50, stdout: 'ignore', stderr: 'ignore' })
      const due = performance.now() + 50
      while (readStat(p.pid)?.state !== 'Z') Bun.sleepSync(1)
      Bun.sleepSync(Math.max(0, due - performance.now()) + 50)
      expect(await p.exited).toEqual({ code: status, signal: null, killedBy: null })
    }
  })

  test("a child that ends its own way on the timeout's signal is still told as timed out", async () => {
    const p = spawnOwned(['bash', '-c', "trap 'exit 0' TERM; sleep 30 & wait"], { timeoutMs: 100 })
    expect(await p.exited).toEqual({ code: 0, signal: null, killedBy: 'timeout' })
  })

  test('exit codes and signals read like Go os/exec', async () => {
    expect(describeExit(await spawnOwned(['bash', '-c', 'exit 3']).exited)).toBe('exit status 3')
    expect(describeExit(await spawnOwned(['bash', '-c', 'kill -TERM $$']).exited)).toBe('signal: terminated')
  })

  test('finished children are forgotten', async () => {
    const before = liveProcessCount()
    await spawnOwned(['true']).exited
    expect(liveProcessCount()).toBe(before)
  })

  test('a terminal child runs on its own controlling terminal and is still owned', async () => {
    let out = ''
    const { promise: eof, resolve } = Promise.withResolvers<void>()
    const p = spawnOwned(['bash', '-c', 'test -t 0 && test -t 1 && echo tty; stty size'], {
      terminal: {
        cols: 100,
        rows: 30,
        data: (_t, bytes) => (out += new TextDecoder().decode(bytes)),
        exit: () => resolve(),
      },
    })
    expect(p.proc.terminal).toBeDefined()
    expect((await p.exited).code).toBe(0)
    await eof
    p.proc.terminal?.close()
    expect(out).toContain('tty')
    expect(out).toContain('30 100')
  })
})

test("an exit by signal is told in Go's words, and the words give the signal back", () => {
  // Go 1.19's syscall.Signal(n).String() on linux/amd64, for 1..33.
  const go =
    `hangup;interrupt;quit;illegal instruction;trace/breakpoint trap;aborted;bus error;floating point exception;killed;user defined signal 1;segmentation fault;user defined signal 2;broken pipe;alarm clock;terminated;stack fault;child exited;continued;stopped (signal);stopped;stopped (tty input);stopped (tty output);urgent I/O condition;CPU time limit exceeded;file size limit exceeded;virtual timer expired;profiling timer expired;window changed;I/O possible;power failure;bad system call;signal 32;signal 33`.split(
      ';',
    )
  const bun = Object.entries(osConstants.signals).filter(([, n]) => n <= 31)
  expect(new Set(bun.map(([, n]) => n)).size).toBe(31)
  for (const [name, n] of bun) {
    const words = describeExit({ code: null, signal: name, killedBy: null })
    expect(words).toBe(`signal: ${go[n - 1]}`)
    expect(signalOfWord(words.replace('signal: ', ''))).toBe(n)
  }
  // Bun reports a real-time signal by its number.
  for (const n of [32, 33, 64]) {
    expect(describeExit({ code: null, signal: String(n), killedBy: null })).toBe(`signal: signal ${n}`)
    expect(signalOfWord(`signal ${n}`)).toBe(n)
  }
  expect(signalOfWord('signal 65')).toBeUndefined()
  expect(shellStatusOf('exit status 3')).toBe(3)
  expect(shellStatusOf('signal: killed: out of memory, a memory limit was reached')).toBe(137)
  expect(shellStatusOf("exit status 137: out of memory: the kernel's OOM killer killed a process")).toBe(137)
  expect(shellStatusOf('exit status 137: hello')).toBeUndefined()
  // A run's words for a kill in its shell's own cgroup, and for one somewhere in execd's.
  for (const scope of ['shell', 'cgroups'] as const) expect(shellStatusOf(runOutOfMemoryWords(137, scope))).toBe(137)
  // A command's, an interpreter's or a shell's death: out of memory where proved, the kill seen
  // after the signal where shared, the signal alone where only the machine's count rose.
  const killed = { code: null, signal: 'SIGKILL', killedBy: null }
  for (const who of ['command', 'interpreter', 'shell'] as const) {
    for (const scope of ['shell', 'cgroups', 'machine', undefined] as const)
      expect(shellStatusOf(deathWords(killed, scope, who))).toBe(137)
    expect(deathWords(killed, 'shell', who)).toStartWith('signal: killed: out of memory, ')
    expect(deathWords(killed, 'cgroups', who)).toStartWith("signal: killed (the kernel's OOM killer killed a process ")
    expect(deathWords(killed, 'machine', who)).toBe('signal: killed')
  }
  expect(shellStatusOf('signal: terminated (timeout after 500 ms)')).toBe(143)
  expect(shellStatusOf('signal: signal 40')).toBe(168)
  expect(shellStatusOf('exit status 300')).toBeUndefined()
  expect(shellStatusOf('KeyboardInterrupt')).toBeUndefined()
  expect(signalOfWord('no such')).toBeUndefined()
})

describe('ownership beyond the process group', () => {
  /**
   * Running (non-zombie) `sleep`s whose arguments include `arg` — `sleep` by name, so a
   * `setsid` that forks on its way to exec is not counted while it is in between.
   */
  const withArg = (arg: string) =>
    [...new Bun.Glob('[0-9]*').scanSync({ cwd: '/proc', onlyFiles: false })].filter(pid => {
      try {
        const state = readStat(pid)?.state
        if (state === undefined || state === 'Z') return false
        if (readFileSync(`/proc/${pid}/comm`, 'latin1').trim() !== 'sleep') return false
        return readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').includes(arg)
      } catch {
        return false
      }
    })

  test('every child carries its owner marker, which setsid does not shed', async () => {
    const p = spawnOwned(['bash', '-c', 'setsid bash -c "echo \\$EXECD_OWNER"'])
    expect((await new Response(p.stdout).text()).trim()).toBe(p.owner.id)
  })

  test('kill after the leader exited ends what it left running, outside its group too', async () => {
    const arg = `${900000 + Math.floor(Math.random() * 99999)}`
    const p = spawnOwned(['bash', '-c', `setsid sleep ${arg} & sleep ${arg} &`])
    await p.exited
    for (let i = 0; i < 500 && withArg(arg).length < 2; i++) await Bun.sleep(10)
    expect(withArg(arg).length).toBe(2)
    await p.kill('interrupt', 200)
    for (let i = 0; i < 100 && withArg(arg).length > 0; i++) await Bun.sleep(10)
    expect(withArg(arg)).toEqual([])
  })
})

describe.skipIf(!cgroupsWritable)('in cgroup leaves', () => {
  beforeAll(() => confineWithCgroups())
  afterAll(() => closeCgroups())

  const cgroupOf = (pid: number) => /^0::(.*)$/m.exec(readFileSync(`/proc/${pid}/cgroup`, 'latin1'))?.[1]
  const running = (pid: number) => !['Z', undefined].includes(readStat(pid)?.state)
  /** SIGKILL (bit 8) in the process's or its thread's pending signals. */
  const killPending = (pid: number) => {
    const status = readFileSync(`/proc/${pid}/status`, 'latin1')
    const pending = (key: string) => BigInt(`0x${new RegExp(`^${key}:\\s*(\\w+)`, 'm').exec(status)![1]}`)
    return ((pending('SigPnd') | pending('ShdPnd')) >> 8n) % 2n === 1n
  }

  test('a child is in its leaf from its first instruction, even while the thread pool is busy', async () => {
    // Every pool thread waits in an open of a FIFO that has no writer yet. A move into the leaf
    // after the spawn (a write on the pool) waited behind them, and the child ran in execd's
    // own cgroup meanwhile: whatever it forked then escaped the leaf.
    const dir = mkdtempSync(join(tmpdir(), 'h-pool-'))
    const fifos = Array.from({ length: 2 * navigator.hardwareConcurrency + 2 }, (_, i) => join(dir, `f${i}`))
    for (const f of fifos) expect(Bun.spawnSync(['mkfifo', f]).exitCode).toBe(0)
    const waiting = fifos.map(f => open(f, 'r'))
    try {
      await Bun.sleep(20)
      const child = spawnOwned(['cat', '/proc/self/cgroup'])
      const seen = /^0::(.*)$/m.exec(await new Response(child.stdout).text())?.[1]
      expect((await child.exited).code).toBe(0)
      expect(seen).toMatch(/\/execd-\d+-[0-9a-f]+\/\d+$/)
    } finally {
      // O_RDWR never blocks on a FIFO, and gives each waiting open its writer.
      const ends = fifos.map(f => openSync(f, constants.O_RDWR))
      for (const h of await Promise.all(waiting)) await h.close()
      for (const fd of ends) closeSync(fd)
      rmSync(dir, { recursive: true })
    }
  })

  test("a kept leaf removed behind its back (another execd's sweep) is replaced: the spawn still works", async () => {
    const first = spawnOwned(['sleep', '60'])
    const leaf = cgroupOf(first.pid)
    await first.kill('interrupt', 200)
    // Kept for the next process, with its directory open: removed now, it cannot be joined.
    const mount = ['/sys/fs/cgroup/unified', '/sys/fs/cgroup'].find(m => existsSync(`${m}${leaf}`))
    rmdirSync(`${mount}${leaf}`)
    const next = spawnOwned(['sleep', '60'])
    try {
      await next.owner.settled()
      expect(cgroupOf(next.pid)).toMatch(/\/execd-\d+-[0-9a-f]+\/\d+$/)
      expect(cgroupOf(next.pid)).not.toBe(leaf)
    } finally {
      await next.kill('interrupt', 200)
    }
  })

  test('a kill of an owner whose leaf went to the next process never reaches that process', async () => {
    const first = spawnOwned(['sleep', '60'])
    await first.owner.settled()
    const leaf = cgroupOf(first.pid)
    expect(leaf).toMatch(/\/execd-\d+-[0-9a-f]+\/\d+$/)
    await first.kill('interrupt', 200)
    // The emptied leaf is kept, and the next process gets it.
    const next = spawnOwned(['sleep', '60'])
    try {
      await next.owner.settled()
      expect(cgroupOf(next.pid)).toBe(leaf)
      await first.owner.signal('SIGKILL')
      // A SIGKILL sent to it is pending (or has ended it) by the time the write that sent it
      // returned: no wait needed to tell.
      expect(running(next.pid) && !killPending(next.pid)).toBe(true)
    } finally {
      await next.kill('interrupt', 200)
    }
    expect(running(next.pid)).toBe(false)
  })
})
