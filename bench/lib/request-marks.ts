/**
 * The marks of one request in a server's system calls (bench/request-timeline.ts): where a
 * command's or a cell's request was read, its child spawned and reaped or its interpreter
 * written to and answered, and its answer sent.
 */
import {
  type Call,
  EPOLL_WAIT,
  READ,
  RECVFROM,
  RECVMSG,
  SENDMSG,
  SENDTO,
  SPAWNS,
  type Trace,
  WAIT4,
  WRITE,
  WRITEV,
} from './syscall-timeline'

export type Marks = Array<[string, number]>

/** Every mark in the order of a request, for printing the steps in it. */
export const ORDER = [
  'request read',
  'spawn called',
  'spawn returned',
  'child exited',
  'pipe EOF 1',
  'pipe EOF 2',
  'reaped',
  'written to interpreter',
  'interpreter read it',
  'interpreter answered',
  'answer read',
  'answer sent',
  'loop waits again',
  'client read the answer',
  'client woke its JS thread',
  'client JS thread ran',
  'client sent the next request',
]

/** One request's marks on the main thread, from its request read to the loop's next wait. */
export function commandMarks(calls: Call[], trace: Trace, client: number): Marks[] {
  const out: Marks[] = []
  for (let i = 0; i < calls.length; i++) {
    const c = calls[i]!
    if (!(c.nr === RECVFROM && Number.parseInt(c.args[0]!, 16) === client && c.ret > 100)) continue
    const marks: Marks = [['request read', c.exit]]
    let child = 0
    let eofs = 0
    let j = i + 1
    let lastSend = -1
    for (; j < calls.length; j++) {
      const d = calls[j]!
      if (d.nr === RECVFROM && Number.parseInt(d.args[0]!, 16) === client && d.ret > 100) break
      if (SPAWNS.has(d.nr) && d.ret > 0) {
        marks.push(['spawn called', d.enter], ['spawn returned', d.exit])
        child = d.ret
        const ex = trace.exits.get(child)
        if (ex !== undefined) marks.push(['child exited', ex])
      } else if (d.nr === RECVFROM && d.ret === 0 && child) {
        eofs++
        marks.push([`pipe EOF ${eofs}`, d.exit])
      } else if (d.nr === WAIT4 && d.ret === child && child) {
        marks.push(['reaped', d.exit])
      } else if (d.nr === SENDTO && Number.parseInt(d.args[0]!, 16) === client) {
        lastSend = marks.length
        marks.push(['answer sent', d.enter])
      }
    }
    // keep the last send as the answer (a streamed command sends its head first); the marks
    // stay in this order even when the child exits before the spawn call returns (a negative
    // step), so that every request's steps are the same steps
    const filtered = marks.filter((m, k) => m[0] !== 'answer sent' || k === lastSend)
    const after = calls.slice(i + 1, j).find(d => d.nr === EPOLL_WAIT && lastSend >= 0 && d.enter > marks[lastSend]![1])
    if (after) filtered.push(['loop waits again', after.enter])
    if (child && lastSend >= 0) out.push(filtered)
  }
  return out
}

export function cellMarks(calls: Call[], main: number, client: number, driverPids: Set<number>): Marks[] {
  const out: Marks[] = []
  const mainCalls = calls.filter(c => c.tid === main)
  const driverCalls = calls.filter(c => driverPids.has(c.tid))
  for (let i = 0; i < mainCalls.length; i++) {
    const c = mainCalls[i]!
    if (!(c.nr === RECVFROM && Number.parseInt(c.args[0]!, 16) === client && c.ret > 100)) continue
    const marks: Marks = [['request read', c.exit]]
    let j = i + 1
    let sent = false
    let wrote = false
    let answered = false
    for (; j < mainCalls.length; j++) {
      const d = mainCalls[j]!
      if (d.nr === RECVFROM && Number.parseInt(d.args[0]!, 16) === client && d.ret > 100) break
      const fd = Number.parseInt(d.args[0]!, 16)
      if (!wrote && [WRITE, SENDTO, SENDMSG, WRITEV].includes(d.nr) && fd !== client) {
        wrote = true
        marks.push(['written to interpreter', d.enter])
        const read = driverCalls.find(x => [READ, RECVFROM, RECVMSG].includes(x.nr) && x.exit > d.enter && x.ret > 0)
        if (read) {
          marks.push(['interpreter read it', read.exit])
          const ans = driverCalls.find(
            x => [WRITE, SENDTO, SENDMSG, WRITEV].includes(x.nr) && x.enter > read.exit && x.ret > 0,
          )
          if (ans) marks.push(['interpreter answered', ans.enter])
        }
      } else if (wrote && !answered && [RECVFROM, READ, RECVMSG].includes(d.nr) && fd !== client && d.ret > 0) {
        answered = true
        marks.push(['answer read', d.exit])
      } else if (d.nr === SENDTO && fd === client) {
        sent = true
        marks.push(['answer sent', d.enter])
        const after = mainCalls.slice(j + 1).find(x => x.nr === EPOLL_WAIT)
        if (after) marks.push(['loop waits again', after.enter])
        break
      }
    }
    if (wrote && answered && sent) out.push(marks)
  }
  return out
}

/** The client socket: the fd the most answers were sent on. */
export function clientFd(calls: Call[], main: number): number {
  const count = new Map<number, number>()
  for (const c of calls)
    if (c.tid === main && c.nr === SENDTO) {
      const fd = Number.parseInt(c.args[0]!, 16)
      count.set(fd, (count.get(fd) ?? 0) + 1)
    }
  return [...count].sort((a, b) => b[1] - a[1])[0]?.[0] ?? -1
}

/**
 * What a Bun `fetch` client did with one answer sent at `sent`, from its own system calls: its
 * HTTP thread reads the answer, wakes the JavaScript thread with an eventfd write (8 bytes),
 * that thread returns from its wait, and the HTTP thread sends the next request (meaningful
 * with no pause between requests: BENCH_TIMELINE_GAP_MS=0).
 */
export function clientMarks(calls: Call[], clients: Set<number>, sent: number): Marks {
  const read = calls.find(c => clients.has(c.tid) && c.nr === RECVFROM && c.ret > 100 && c.exit >= sent)
  if (!read) return []
  const marks: Marks = [
    ['answer sent', sent],
    ['client read the answer', read.exit],
  ]
  const wake = calls.find(c => c.tid === read.tid && c.nr === WRITE && c.ret === 8 && c.enter >= read.exit)
  if (!wake) return marks
  marks.push(['client woke its JS thread', wake.enter])
  const js = calls.find(c => clients.has(c.tid) && c.tid !== read.tid && c.nr === EPOLL_WAIT && c.exit >= wake.enter)
  if (!js) return marks
  marks.push(['client JS thread ran', js.exit])
  const next = calls.find(c => c.tid === read.tid && c.nr === SENDTO && c.ret > 100 && c.enter >= js.exit)
  if (next) marks.push(['client sent the next request', next.enter])
  return marks
}
