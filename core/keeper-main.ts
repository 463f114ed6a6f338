/**
 * The keeper: execd run again (`execd __keeper`, core/keeper.ts starts it), a process that
 * outlives execd only to end what execd owned. Its stdin is a pipe whose only writer is execd, so
 * it reads EOF when execd is gone, however it went: a SIGKILL, the OOM killer, a crash run no
 * handler of execd's, but the kernel closes a dead process's descriptors. It is told, one line
 * each, the marker prefix (`m<NAME=prefix>`), each process group execd spawned (`+<pgid>`) and
 * each whose leader execd reaped (`-<pgid>`: from then on the number may be another's). At EOF it
 * SIGKILLs every group still listed, then every process carrying execd's marker (what left its
 * group: `setsid`, `nohup … &` of an exited leader), removes the temp dirs execd told it of
 * (`d<path>`, `r<path>` once execd removed one itself), and exits. Nothing else: it holds no
 * socket but fd 3 (whose EOF is execd's death), no token (its environment is empty), and loads
 * only this file and /proc's reader: imported here, they stay off every other start of the
 * executable (core/layout-start.test.ts).
 */
/** The word that starts this mode: no verb of the command line, and never in its help. */
export const KEEPER_WORD = '__keeper'

/**
 * Pause after each read: what execd writes meanwhile waits in the pipe (two lines a command; the
 * pipe holds thousands), so a busy execd wakes the keeper twice a second at most, not twice a
 * command, on the cores its commands share. execd's death is seen at once all the same: fd 3 is a
 * socket execd holds the other end of and never writes to (core/keeper.ts), whose EOF cuts the
 * pause short.
 */
const READ_PAUSE_MS = 500
/** A line longer than any the protocol has (a dir's path: 4,000 bytes at most) is not one of execd's: dropped, not buffered. */
const MAX_LINE = 4096
/**
 * How long the removal of execd's temp dirs may go on after the kill: what is left then (a
 * huge tree) waits for the next execd's sweep, as everything did before the keeper removed them.
 */
const REMOVAL_MS = 5000
/** The descriptor that carries only execd's death (its EOF). */
const DEATH_FD = 3

/** Reads execd's lines until EOF, then ends what is listed. Never returns. */
export async function keepWatch(): Promise<never> {
  const { killMarkedBy } = await import('./marker-sweep')
  const { read } = await import('node:fs')
  // execd, whose pid is in each of its dirs' names: a line naming anything else is not obeyed.
  const parent = process.ppid
  const groups = new Set<number>()
  const dirs = new Set<string>()
  let marker: string | undefined
  const apply = (line: string) => {
    const head = line[0]
    if (head === 'd' || head === 'r') return void (head === 'd' ? dirs.add(line.slice(1)) : dirs.delete(line.slice(1)))
    // A marker of a name and a value's start (EXECD_OWNER=<execd>.), never one that matches every variable.
    if (head === 'm') return void (marker = /^\w+=[\w.]+$/.test(line.slice(1)) ? line.slice(1) : undefined)
    const pgid = Number(line.slice(1))
    // Never 0 or 1: kill(-1) is every process the keeper may signal, kill(-0) its own group.
    if (!Number.isSafeInteger(pgid) || pgid < 2 || pgid === process.pid) return
    if (head === '+') groups.add(pgid)
    else if (head === '-') groups.delete(pgid)
  }
  // No read is pending on the pipe while the keeper pauses (a stream of it read on and woke the
  // keeper at every line: 2.1 wakeups a command); one blocking read on the thread pool waits
  // for the next lines, and takes all that came during the pause at once.
  const buf = Buffer.allocUnsafe(64 * 1024)
  const readSome = () =>
    new Promise<number>(resolve => read(0, buf, 0, buf.length, null, (err, n) => resolve(err ? 0 : n)))
  let gone = false
  const death = endOf(DEATH_FD).then(() => void (gone = true))
  let rest = ''
  const decoder = new TextDecoder()
  // A read that fails is the pipe's end as well: execd can no longer tell it anything.
  for (let n = await readSome(); n > 0; n = await readSome()) {
    rest += decoder.decode(buf.subarray(0, n), { stream: true })
    let end: number
    while ((end = rest.indexOf('\n')) >= 0) {
      apply(rest.slice(0, end))
      rest = rest.slice(end + 1)
    }
    if (rest.length > MAX_LINE) rest = ''
    if (!gone) await Promise.race([Bun.sleep(READ_PAUSE_MS), death])
  }
  for (const pgid of groups) {
    try {
      process.kill(-pgid, 'SIGKILL')
    } catch {}
  }
  if (marker) killMarkedBy(marker, process.pid)
  removeDirs(dirs, parent)
  process.exit(0)
}

/** Resolves at `fd`'s EOF (or its failure: a keeper started without it reads on unpaused). */
async function endOf(fd: number): Promise<void> {
  try {
    const reader = Bun.file(fd).stream().getReader()
    while (!(await reader.read()).done);
  } catch {}
}

/**
 * Removes the temp dirs execd told of (core/temp-dir.ts), each only if it is still one of execd's
 * by its name (`<prefix>-<execd's pid>-<suffix>`, a directory, not a link), until `deadline`
 * (REMOVAL_MS after the kill). Its processes were SIGKILLed first; the walk does not follow
 * links out of the dir.
 */
export function removeDirs(dirs: Set<string>, execd: number, deadline = performance.now() + REMOVAL_MS): void {
  const { lstatSync } = require('node:fs') as typeof import('node:fs')
  const { basename } = require('node:path') as typeof import('node:path')
  for (const dir of dirs) {
    if (performance.now() > deadline) return
    if (!dir.startsWith('/') || !new RegExp(`^execd-[\\w-]+-${execd}-[\\w]+$`).test(basename(dir))) continue
    try {
      if (lstatSync(dir).isDirectory()) removeTree(dir, deadline)
    } catch {}
  }
}

/**
 * Removes `root` and all beneath it, or stops at `deadline` with what is left in place: one
 * `rmSync(…, { recursive })` of a tree of millions of entries held the keeper past its bound,
 * which was checked only between dirs. Depth first on a stack of its own (no recursion limit),
 * the clock read once per entry; links are unlinked, never followed (readdir's type is lstat's).
 */
export function removeTree(root: string, deadline: number): boolean {
  const { readdirSync, rmdirSync, unlinkSync } = require('node:fs') as typeof import('node:fs')
  // Each dir is listed once, its files unlinked then; it is removed when it is met again, emptied.
  const stack: { path: string; listed: boolean }[] = [{ path: root, listed: false }]
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!
    if (top.listed) {
      stack.pop()
      tryIt(() => rmdirSync(top.path))
      continue
    }
    top.listed = true
    let entries: import('node:fs').Dirent[] = []
    tryIt(() => (entries = readdirSync(top.path, { withFileTypes: true })))
    for (const entry of entries) {
      if (performance.now() > deadline) return false
      const path = `${top.path}/${entry.name}`
      if (entry.isDirectory()) stack.push({ path, listed: false })
      else tryIt(() => unlinkSync(path))
    }
  }
  return true
}

/** A removal that fails (gone already, no permission) leaves that entry: the next execd's sweep sees it. */
function tryIt(act: () => unknown): void {
  try {
    act()
  } catch {}
}
