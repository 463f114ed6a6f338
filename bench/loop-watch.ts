/**
 * Watches an execd's main thread from outside (root, or the same user, for /proc/<pid>/stack):
 * `bun bench/loop-watch.ts <pid> [out.jsonl]`. Every 5 ms it reads the thread's state and the
 * system call it is in (/proc/<pid>/task/<pid>/syscall); one that stays in the same blocking
 * call, other than the event loop's own wait (epoll_pwait2, epoll_wait), for 50 ms or more is
 * one JSON line: the call's number and first argument, how long it was seen, and the kernel
 * stack it sleeps on. The loop-lag probe (EXECD_LOOP_LAG_LOG) says that the loop slept; this
 * says where. Calls alike in a row (the same number and first argument, as rmSync's unlinkat
 * of one directory) are seen as one. Runs until the process is gone or Ctrl-C.
 */
import { appendFileSync, readFileSync } from 'node:fs'

const pid = Number(process.argv[2])
const out = process.argv[3]
if (!Number.isInteger(pid) || pid <= 0) {
  console.error('usage: bun bench/loop-watch.ts <execd pid> [out.jsonl]')
  process.exit(2)
}
const task = `/proc/${pid}/task/${pid}`
/** The loop's own waits (x86-64): epoll_wait, epoll_pwait, epoll_pwait2. */
const LOOP_WAITS = new Set(['232', '281', '441'])
const MIN_MS = 50

const read = (file: string) => {
  try {
    return readFileSync(`${task}/${file}`, 'latin1')
  } catch {
    return undefined
  }
}

let current: { key: string; since: number; stack: string } | undefined
const report = (c: NonNullable<typeof current>, now: number) => {
  const ms = Math.round(now - c.since)
  if (ms < MIN_MS) return
  const [nr, arg0] = c.key.split(' ')
  const line = JSON.stringify({ at: Date.now() - ms, ms, syscall: Number(nr), arg0, stack: c.stack })
  if (out) appendFileSync(out, `${line}\n`)
  else console.log(line)
}

for (;;) {
  const syscall = read('syscall')
  if (syscall === undefined) break
  const now = performance.now()
  const [nr, arg0] = syscall.trim().split(' ')
  // "running" (on a CPU, no call) or the loop's own wait: nothing is held in the kernel.
  const key = nr === undefined || nr === 'running' || LOOP_WAITS.has(nr) ? '' : `${nr} ${arg0}`
  if (current && current.key !== key) {
    report(current, now)
    current = undefined
  }
  if (key && !current) current = { key, since: now, stack: '' }
  // The stack once it has lasted a while: where it sleeps, not how it got in.
  if (current && !current.stack && now - current.since >= 20)
    current.stack = (read('stack') ?? '')
      .split('\n')
      .map(l => l.replace(/^\[<0>\] /, '').replace(/\+0x.*$/, ''))
      .filter(Boolean)
      .slice(0, 8)
      .join(';')
  await Bun.sleep(5)
}
if (current) report(current, performance.now())
