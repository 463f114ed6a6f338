/**
 * `serve -- <command>`'s main process started by way of execd run again (cmd/main-exec.ts).
 * When execd itself is SIGKILLed (the OOM killer, `docker kill -s KILL` of an
 * execd that is not PID 1, a supervisor): the kernel ends the main process with it
 * (PR_SET_PDEATHSIG, cmd/main-exec.ts). It ran on before, re-parented to init, a SIGSTOPped one
 * stopped for good: execd's kill of it was in process.on('exit'), which a SIGKILL never runs.
 */
import { expect, test } from 'bun:test'
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BIN, serveArgv, childrenOf, freePort, waitFor } from './harness'

/** Gone, or a zombie its new parent has yet to reap: either way it runs no more. */
function ended(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z'
  } catch {
    return true
  }
}

const kill = (pid: number) => {
  try {
    process.kill(pid, 'SIGKILL')
  } catch {} // gone already
}

test.each([
  ['one that ignores SIGTERM', []],
  ['one stopped with SIGSTOP', ['SIGSTOP']],
] as const)('a SIGKILLed execd takes its main process with it: %s', async (_, signals) => {
  const dir = mkdtempSync(join(tmpdir(), 'execd-killed-'))
  const port = await freePort()
  // The main process forks a child and says so, then waits on it, deaf to SIGTERM.
  const main = `trap "" TERM; sleep 1000 & echo $! > ${dir}/child; wait`
  const execd = Bun.spawn([...serveArgv(port), '--', 'sh', '-c', main], {
    stdout: 'ignore',
    stderr: 'ignore',
    env: { ...process.env, EXECD_ACCESS_TOKEN: '' },
  })
  let mainPid = 0
  try {
    await waitFor('the main process to fork its child', () => existsSync(join(dir, 'child')))
    // Once the child's pid is written, the main process is the command itself, execd's child.
    const mains = childrenOf(execd.pid).filter(c => c.cmd.startsWith('sh -c '))
    expect(mains).toHaveLength(1)
    mainPid = mains[0]!.pid
    for (const signal of signals) process.kill(mainPid, signal)
    execd.kill('SIGKILL')
    expect(await execd.exited).toBe(128 + 9)
    await waitFor('the main process to end with execd', () => ended(mainPid), 10_000)
  } finally {
    execd.kill('SIGKILL')
    if (mainPid && !ended(mainPid)) kill(mainPid)
    // Its child is an orphan of init's now, as a shell's background job is: ours to clean up.
    const child = Number(readFileSync(join(dir, 'child'), { encoding: 'latin1', flag: 'a+' }))
    if (child > 0) kill(child)
    rmSync(dir, { recursive: true, force: true })
  }
})

/** `serve --port 0 -- <argv>` to its end: what it wrote on stdout and stderr, and its status. */
function serveRun(argv: string[]): { stdout: string; stderr: string; status: number | null } {
  const run = Bun.spawnSync([BIN, 'serve', '--port', '0', '--host', '127.0.0.1', '--', ...argv], {
    env: { ...process.env, EXECD_ACCESS_TOKEN: '' },
  })
  return { stdout: run.stdout.toString(), stderr: run.stderr.toString(), status: run.exitCode }
}

test('the main process starts with every signal at its default and none blocked, as Bun.spawn started it', () => {
  // Bun ignores SIGPIPE and SIGXFSZ, and an ignored signal stays ignored across execve: the
  // first try at the step handed both on (SigIgn 0000000001001000).
  // What Bun.spawn gives here is the measure, not zeros: glibc's signal 32 (SIGCANCEL), ignored
  // by an ancestor (CI's `bun run spec/shards.ts` had it so), is passed on by Bun.spawn and can
  // be set by no libc call, so execd's step hands it on exactly as Bun.spawn did.
  const look = ['sh', '-c', 'grep -E "^Sig(Ign|Blk):" /proc/self/status']
  const spawned = Bun.spawnSync(look).stdout.toString()
  expect(spawned).toStartWith('SigBlk:\t0000000000000000\nSigIgn:\t')
  const run = serveRun(look)
  expect(run.stdout).toBe(spawned)
  expect(run.status).toBe(0)
})

test.each([
  ['a script whose interpreter is missing', '#!/no/such/interpreter\n', 127, 'no such file or directory'],
  ['a file that is no program', '\x7fELF not one\n', 126, 'exec format error'],
])(
  '%s passes the look before listening, then fails at its exec: one line and a shell’s status',
  (_, text, status, why) => {
    const dir = mkdtempSync(join(tmpdir(), 'execd-main-exec-'))
    try {
      const file = join(dir, 'main')
      writeFileSync(file, text)
      chmodSync(file, 0o755)
      const run = serveRun([file])
      expect(run.stderr).toContain(`execd: cannot start the main process: ${file}: ${why}\n`)
      expect(run.status).toBe(status)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  },
)
