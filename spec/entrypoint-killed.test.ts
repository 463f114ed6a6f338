/**
 * `serve -- <command>` when execd itself is SIGKILLed (the OOM killer, `docker kill -s KILL` of an
 * execd that is not PID 1, a supervisor): the kernel ends the main process with it
 * (PR_SET_PDEATHSIG, cmd/main-exec.ts). It ran on before, re-parented to init, a SIGSTOPped one
 * stopped for good: execd's kill of it was in process.on('exit'), which a SIGKILL never runs.
 */
import { expect, test } from 'bun:test'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { serveArgv, childrenOf, freePort, waitFor } from './harness'

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
