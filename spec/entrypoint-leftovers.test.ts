/**
 * `serve -- <command>` not as PID 1 (at a terminal, under a supervisor): once the main process
 * has exited, the jobs it left behind end with execd, as PID 1's do (cmd/entrypoint.ts
 * endLeftovers). `serve -- sh -c 'sleep 1000 & wait'` stopped by SIGTERM exited 143 and left the
 * `sleep` running, re-parented to init: it shares execd's process group (the main process's),
 * which the kill of owned processes spares.
 */
import { afterAll, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { serveArgv, freePort, waitFor } from './harness'

const dir = mkdtempSync(join(tmpdir(), 'execd-spec-leftovers-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Whether `pid` runs still (a zombie has ended; init reaps it). */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z /s.test(readFileSync(`/proc/${pid}/stat`, 'latin1'))
  } catch {
    return false
  }
}

/** `serve -- sh -c <script>` once the script has written its job's pid; then SIGTERM. */
async function stopWithJob(script: string, name: string): Promise<{ status: number; job: number }> {
  const pidFile = join(dir, name)
  const proc = Bun.spawn([...serveArgv(await freePort()), '--shutdown-grace', '2000', '--', 'sh', '-c', script], {
    stdout: 'ignore',
    stderr: 'ignore',
    env: { ...process.env, EXECD_ACCESS_TOKEN: '', PID_FILE: pidFile },
  })
  let job = 0
  try {
    await waitFor('the job to start', () => existsSync(pidFile) && readFileSync(pidFile, 'latin1').endsWith('\n'))
    job = Number(readFileSync(pidFile, 'latin1'))
    expect(running(job)).toBe(true)
    proc.kill('SIGTERM')
    return { status: await proc.exited, job }
  } finally {
    proc.kill('SIGKILL')
  }
}

test('a job the main process leaves behind ends with execd, whose status is the main process’s', async () => {
  const { status, job } = await stopWithJob('sleep 1000 & echo $! > "$PID_FILE"; wait', 'plain')
  try {
    expect(status).toBe(143)
    await waitFor('the job to end', () => !running(job), 10_000)
  } finally {
    if (running(job)) process.kill(job, 'SIGKILL')
  }
}, 60_000)

test('a job deaf to SIGTERM is killed after the grace', async () => {
  const { status, job } = await stopWithJob(
    `sh -c 'trap "" TERM; echo $$ > "$PID_FILE"; while :; do sleep 0.2; done' & wait`,
    'deaf',
  )
  try {
    expect(status).toBe(143)
    await waitFor('the job to be killed', () => !running(job), 15_000)
  } finally {
    if (running(job)) process.kill(job, 'SIGKILL')
  }
}, 60_000)
