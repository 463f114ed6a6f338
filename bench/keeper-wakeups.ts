/**
 * How often execd's keeper (core/keeper-main.ts) is woken while execd runs commands, and how
 * long after execd's SIGKILL it has ended what execd ran: its context switches (every thread's,
 * from /proc/<pid>/task/<tid>/status) over N `POST /command` of `true`, a background `sleep`
 * started first, then the SIGKILL and the time until that sleep is gone (polled every 5 ms).
 *
 *   bun run bench/keeper-wakeups.ts [commands=2000] [rounds=3]
 *   EXECD_BIN=…   the execd to measure (default dist/execd)
 */
import { readdirSync, readFileSync } from 'node:fs'
import { commandRoundTrip } from './lib/command'
import { EXECD_BIN, startExecd } from './lib/execd'

const arg = (i: number, fallback: number) => Number(process.argv[2 + i] ?? fallback)
const [commands, rounds] = [arg(0, 2000), arg(1, 3)]

const switches = (pid: number): number =>
  readdirSync(`/proc/${pid}/task`).reduce((sum, tid) => {
    const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8')
    const n = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0)
    return sum + n('voluntary_ctxt_switches') + n('nonvoluntary_ctxt_switches')
  }, 0)

const keeperOf = (pid: number): number | undefined =>
  readdirSync(`/proc/${pid}/task`)
    .flatMap(tid => readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean).map(Number))
    .find(child => readFileSync(`/proc/${child}/cmdline`, 'latin1').includes('__keeper'))

const live = (pid: number) => {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'))
  } catch {
    return false
  }
}

console.log(`${EXECD_BIN}: ${commands} commands a round, load ${readFileSync('/proc/loadavg', 'utf8').split(' ')[0]}`)
for (let round = 1; round <= rounds; round++) {
  const d = await startExecd()
  const mark = `${process.pid}.${round}`
  await d.post('/command', { command: `sleep 77${mark}`, background: true }).then(r => r.text())
  let sleeper: number | undefined
  while (!sleeper) {
    sleeper = readdirSync('/proc')
      .filter(p => /^\d+$/.test(p))
      .map(Number)
      .find(p => {
        try {
          return readFileSync(`/proc/${p}/cmdline`, 'latin1') === `sleep\u000077${mark}\u0000`
        } catch {
          return false
        }
      })
    await Bun.sleep(5)
  }
  const keeper = keeperOf(d.pid)!
  const before = switches(keeper)
  const t0 = performance.now()
  for (let i = 0; i < commands; i++) await commandRoundTrip(d)
  const seconds = (performance.now() - t0) / 1000
  const woken = switches(keeper) - before
  if (process.env.BY_THREAD)
    for (const tid of readdirSync(`/proc/${keeper}/task`))
      console.log(
        tid,
        readFileSync(`/proc/${keeper}/task/${tid}/comm`, 'utf8').trim(),
        /^voluntary_ctxt_switches:\s+(\d+)/m.exec(readFileSync(`/proc/${keeper}/task/${tid}/status`, 'utf8'))?.[1],
      )
  d.proc.kill('SIGKILL')
  const killedAt = performance.now()
  while (live(sleeper)) await Bun.sleep(5)
  const ended = performance.now() - killedAt
  console.log(
    `round ${round}: keeper switched ${woken} times in ${seconds.toFixed(1)} s (${(woken / seconds).toFixed(1)}/s, ` +
      `${(woken / commands).toFixed(3)} a command); after the SIGKILL the sleep was gone in ${ended.toFixed(0)} ms`,
  )
}
