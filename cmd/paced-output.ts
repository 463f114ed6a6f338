/**
 * A verb's run output, gathered into writes of some size and written at its reader's pace.
 *
 * Each event was a `write` of its own, and `write` takes whatever it is given and queues what
 * the reader has not taken. A command's output comes a line an event: to a reader that keeps up
 * (`| wc -c`, `> /dev/null`) each line was a system call and a wake-up of the reader, `yes | head
 * -c 16M` 33-64 s (load 14); to a slower reader (`| less` at its first page, a pipeline's busy
 * stage) the queue grew with the run's whole output (`exec --shell yes`: 240 MB in 6 s; a bash
 * cell 635 MB); to a stdout that fails (`> /dev/full`) every line was written, and failed, until
 * the failure's event came: 139,264 writes in 21 s under strace.
 *
 * Now `put` gathers what is written until GATHER characters or the end of the loop's turn (a
 * terminal sees each burst as it comes), one stream at a time, in the order given (`2>&1` keeps
 * the lines' order). A print loop awaits `room()` after each event when it gives a promise: one
 * turn of the loop when a write was queued (in which a failed write's error comes, and the verb's
 * pipe watch stops the run), then, past BACKLOG queued, the stream's drain. `flush()` before
 * anything else is written.
 */

/** What is gathered before it is written. */
const GATHER = 64 << 10
/** What a reader may leave queued in execd before the run waits for it. */
const BACKLOG = 1 << 20

interface Backlog {
  queued: number
  /** The stream's drain, or its failure. */
  drained: Promise<void>
  /** The loop has had its one turn of this backlog. */
  turned: boolean
}

const backlogs = new Map<NodeJS.WriteStream, Backlog>()
let gathered: { stream: NodeJS.WriteStream; parts: string[]; size: number } | undefined
let scheduled = false
/** Where the text put last left its line open (no newline at its end), if it did. */
let openOn: NodeJS.WriteStream | undefined

/** Writes `text` to `stream`, after what was put before it, within this turn of the loop. */
export function put(stream: NodeJS.WriteStream, text: string): void {
  if (text.length > 0) openOn = text.endsWith('\n') ? undefined : stream
  if (gathered && gathered.stream !== stream) flush()
  gathered ??= { stream, parts: [], size: 0 }
  gathered.parts.push(text)
  gathered.size += text.length
  if (gathered.size >= GATHER) return flush()
  if (!scheduled) {
    scheduled = true
    setImmediate(() => {
      scheduled = false
      flush()
    })
  }
}

/** Writes what is gathered. */
export function flush(): void {
  if (!gathered) return
  const { stream, parts, size } = gathered
  gathered = undefined
  const taken = stream.write(parts.length === 1 ? parts[0]! : parts.join(''))
  let backlog = backlogs.get(stream)
  if (taken && !backlog) return
  if (!backlog) {
    const drained = drainOf(stream).then(() => void backlogs.delete(stream))
    backlogs.set(stream, (backlog = { queued: 0, drained, turned: false }))
  }
  backlog.queued += size
}

/** What the writes so far leave to wait for, if anything: a turn of the loop, or a drain. */
export function room(): Promise<void> | undefined {
  for (const backlog of backlogs.values()) {
    if (!backlog.turned) {
      backlog.turned = true
      return Promise.race([backlog.drained, new Promise<void>(resolve => setImmediate(resolve))])
    }
    if (backlog.queued >= BACKLOG) return backlog.drained
  }
  return undefined
}

function drainOf(stream: NodeJS.WriteStream): Promise<void> {
  if (stream.destroyed) return Promise.resolve()
  return new Promise(resolve => {
    const done = () => {
      stream.off('drain', done)
      stream.off('error', done)
      stream.off('close', done)
      resolve()
    }
    stream.on('drain', done)
    stream.on('error', done)
    stream.on('close', done)
  })
}

/**
 * Whether the output put last left its line open (`print('abc', end='')`, a `\r` progress line),
 * and from now on not: the caller ends that line. A prompt drawn after it erased it, readline
 * redrawing its line from the first column.
 */
export function takeOpenLine(): boolean {
  const open = openOn !== undefined
  openOn = undefined
  return open
}

/**
 * A stop key echoed by the terminal: in its own line mode (not a prompt's raw mode) it shows
 * Ctrl-C as `^C` (Ctrl-\ as `^\`) where the cursor was and leaves the cursor after it, so
 * execd's next line began on that row: `^Cexecd: stopping once the daemon has opened …`. That
 * row is open on stderr now; ownLine ends it first. A signal sent by `kill` is echoed by no one:
 * its line follows an empty row, once.
 */
export function stopKeyEchoed(): void {
  if (!process.stderr.isTTY) return
  // fd 0 asked first: process.stdin made for a pipe of code still to be read is not ours to make.
  const { isatty } = require('node:tty') as typeof import('node:tty')
  if (isatty(0) && !(process.stdin as { isRaw?: boolean }).isRaw) openOn = process.stderr
}

/**
 * One of execd's own lines on stderr (`execd: timed out …`), after what was put before it and on
 * a row of its own: a cell's output that left its line open (`print('abc', end='')`) had the
 * line written onto that row, `abcexecd: timed out after 1500 ms`. The open line is ended on
 * stderr where the two share a file (stderr itself; stdout where both are one terminal, one
 * pipe or one file, `2>&1`); a stdout of its own is left as the cell wrote it.
 */
export function ownLine(line: string): void {
  flush()
  if (openOn && (openOn === process.stderr || sameFile(1, 2))) {
    openOn = undefined
    process.stderr.write('\n')
  }
  process.stderr.write(`${line}\n`)
}

function sameFile(a: number, b: number): boolean {
  try {
    // Loaded here: cmd/errors says serve's failures through ownLine, and serve's start loads no node:fs.
    const { fstatSync } = require('node:fs') as typeof import('node:fs')
    const [x, y] = [fstatSync(a), fstatSync(b)]
    return x.dev === y.dev && x.ino === y.ino
  } catch {
    return false
  }
}
