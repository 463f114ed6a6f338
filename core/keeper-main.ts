/**
 * The keeper: execd run again (`execd __keeper`, core/keeper.ts starts it), a process that
 * outlives execd only to end what execd owned. Its stdin is a pipe whose only writer is execd, so
 * it reads EOF when execd is gone, however it went: a SIGKILL, the OOM killer, a crash run no
 * handler of execd's, but the kernel closes a dead process's descriptors. It is told, one line
 * each, the marker prefix (`m<NAME=prefix>`), each process group execd spawned (`+<pgid>`) and
 * each whose leader execd reaped (`-<pgid>`: from then on the number may be another's). At EOF it
 * SIGKILLs every group still listed, then every process carrying execd's marker (what left its
 * group: `setsid`, `nohup … &` of an exited leader), and exits. Nothing else: it holds no socket,
 * no token (its environment is empty), and loads only this file and /proc's reader: imported
 * here, they stay off every other start of the executable (core/layout-start.test.ts).
 */
/** The word that starts this mode: no verb of the command line, and never in its help. */
export const KEEPER_WORD = '__keeper'

/**
 * Pause after each read: what execd writes meanwhile waits in the pipe (two lines a command; the
 * pipe holds thousands), so a busy execd wakes the keeper twice a second at most, not twice a
 * command, on the cores its commands share. The cost: execd's death is acted on up to this late.
 */
const READ_PAUSE_MS = 500
/** A line longer than any the protocol has is not one of execd's: dropped, not buffered. */
const MAX_LINE = 256

/** Reads execd's lines until EOF, then ends what is listed. Never returns. */
export async function keepWatch(): Promise<never> {
  const { killMarkedBy } = await import('./marker-sweep')
  const groups = new Set<number>()
  let marker: string | undefined
  const apply = (line: string) => {
    const head = line[0]
    // A marker of a name and a value's start (EXECD_OWNER=<execd>.), never one that matches every variable.
    if (head === 'm') return void (marker = /^\w+=[\w.]+$/.test(line.slice(1)) ? line.slice(1) : undefined)
    const pgid = Number(line.slice(1))
    // Never 0 or 1: kill(-1) is every process the keeper may signal, kill(-0) its own group.
    if (!Number.isSafeInteger(pgid) || pgid < 2 || pgid === process.pid) return
    if (head === '+') groups.add(pgid)
    else if (head === '-') groups.delete(pgid)
  }
  let rest = ''
  const decoder = new TextDecoder()
  try {
    const reader = Bun.stdin.stream().getReader()
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
      rest += decoder.decode(read.value, { stream: true })
      let end: number
      while ((end = rest.indexOf('\n')) >= 0) {
        apply(rest.slice(0, end))
        rest = rest.slice(end + 1)
      }
      if (rest.length > MAX_LINE) rest = ''
      await Bun.sleep(READ_PAUSE_MS)
    }
  } catch {
    // A read that fails is the pipe's end as well: execd can no longer tell it anything.
  }
  for (const pgid of groups) {
    try {
      process.kill(-pgid, 'SIGKILL')
    } catch {}
  }
  if (marker) killMarkedBy(marker, process.pid)
  process.exit(0)
}
