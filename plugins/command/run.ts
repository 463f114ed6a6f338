/**
 * Starting a command and carrying its output: `bash -c` in its own process group, stdin
 * /dev/null; every chunk goes to the command's log file and, split into lines, into its event
 * journal. The journal applies backpressure while a live reader lags (so the pipe fills and
 * the command waits) and drops the oldest events when nobody reads — memory stays bounded
 * either way, and the log file keeps the output for `/logs`.
 */
import { findShell, requirePiece } from '../../core/capabilities'
import { ExecdError, PREFIX, limitReached } from '../../core/errors'
import { isArgListTooLong } from '../../core/exec-strings'
import { errorEvent, makeEvent, type ExecEvent } from '../../core/events'
import { Journal } from '../../core/journal'
import { ByteLineSplitter, type OutputLine } from '../../core/lines'
import { spawnOwned, type ExitInfo, type OwnedProcess } from '../../core/process'
import { describeExit } from '../../core/exit-words'
import { deathWords, OomWatch } from '../../core/oom'
import type { UnreadPacer } from '../../core/fair'
import { uuidHex } from '../../core/random'
import { OutputPipes } from '../../core/output-pipes'
import type { CommandRequest } from './contract'
import { CommandLog } from './log'
import { pump, type Pace } from './pump'
import type { CommandRecord, CommandStore } from './store'

export interface RunSettings {
  /** Output beyond this many bytes is not written to the log (the stream still gets it). */
  logMaxBytes: number
  /** The same over all running commands' logs together (CommandStore.logRoom). */
  logTotalBytes: number
}

export interface Prepared {
  req: CommandRequest
  cwd?: string
  env: Record<string, string>
  uid?: number
  gid?: number
}

/**
 * The shell by absolute path, found on execd's own PATH (as the reference's exec.Command finds
 * it) and kept: a spawn by name searched PATH again each time, a stat per entry on the event
 * loop before the fork (core/capabilities.ts findShell). Looked for again when a spawn with it
 * fails (a container can lose or gain bash while execd runs).
 */
let shell: ReturnType<typeof findShell>

/**
 * `<shell> -c command <name>`: `$0` is the bare name (`bash`, as before and as the reference's
 * `exec.Command("bash", …)` gives), set by the argument after the command. It was argv[0]
 * (`argv0`), and a shell started by a bare name looks for itself on PATH to set `$BASH` (a stat
 * per PATH entry, then its access and id checks: 13–25 system calls in every command's shell,
 * before its first line ran); started by its path it knows.
 */
function spawnShell(command: string, opts: Parameters<typeof spawnOwned>[1]): OwnedProcess {
  const kept = shell
  shell ??= findShell()
  if (!shell) throw new Error('no shell on PATH')
  try {
    return spawnOwned([shell.path, '-c', command, shell.name], opts)
  } catch (err) {
    shell = undefined
    if (!kept) throw err
    return spawnShell(command, opts) // once more, with a fresh search
  }
}

const EMPTY = new Uint8Array(0)

/** Starts the command; its events flow into the record's journal until the terminal event. */
export function startCommand(
  p: Prepared,
  store: CommandStore,
  settings: RunSettings,
  unread: UnreadPacer,
): CommandRecord {
  const startedAt = new Date()
  // The OOM kills so far, noted before the spawn: a command started into a full cgroup is killed
  // within milliseconds, and a count read after that would hide its kill.
  const oom = new OomWatch()
  // Spawned first: what is set up below runs while the shell starts instead of before it. Its
  // output into real pipes where they can be had (core/output-pipes.ts): cheaper to write.
  const pipes = OutputPipes.make()
  let proc: OwnedProcess | undefined
  let failure = ''
  try {
    proc = spawnShell(p.req.command, {
      cwd: p.cwd,
      env: p.env,
      envMadeForIt: true, // prepare() built it for this request (env.ts commandEnv)
      stdin: 'ignore',
      stdout: pipes?.stdout ?? 'pipe',
      stderr: pipes?.stderr ?? 'pipe',
      uid: p.uid,
      gid: p.gid,
      timeoutMs: p.req.timeout,
    })
  } catch (err) {
    // What the container lacks (no shell, no /dev/null) is a 501 before any stream starts,
    // looked for only when a spawn failed: a command that starts needs no check of its own.
    if (err instanceof ExecdError && err.code === 'NOT_SUPPORTED') throw err
    // No fd for the pipes: a 503 naming the limit, as for every other route (core/errors.ts).
    const full = limitReached(err)
    if (full) throw full
    // The command and its environment together past what execve takes: the request's size, a 400.
    if (isArgListTooLong(err)) {
      throw new ExecdError(
        'INVALID_REQUEST_BODY',
        `${PREFIX.validation}the command and its environment are too large to start (E2BIG: argument list too long)`,
      )
    }
    requirePiece('shell')
    failure = `failed to start command: ${(err as Error).message}`
  } finally {
    if (proc) pipes?.spawned()
    else pipes?.close()
  }
  const id = uuidHex()
  const journal = new Journal({ maxEvents: 4096, maxBytes: 1024 * 1024 })
  let finished!: () => void
  const record: CommandRecord = {
    id,
    content: p.req.command,
    background: !!p.req.background,
    startedAt,
    startedMono: performance.now(),
    running: true,
    logBytes: 0,
    journal,
    lastEventId: 0,
    done: new Promise<void>(r => (finished = r)),
  }
  store.add(record)
  const log = new CommandLog(() => store.logAt(id))
  let writes = Promise.resolve()
  /** Steps of the chain not finished yet: none means the journal has every event so far. */
  let queued = 0
  // One writer at a time: the journal wakes a single waiting producer.
  const chain = (step: () => Promise<void>) => {
    queued++
    return (writes = writes.then(async () => {
      try {
        await step()
      } finally {
        queued--
      }
    }))
  }
  /** One event; at once when nothing is queued ahead and the journal has room (most events). */
  const append = (e: ExecEvent): Promise<void> | undefined => {
    const id = queued === 0 ? journal.tryAppend(e) : 0
    if (id !== 0) {
      record.lastEventId = id
      return undefined
    }
    return chain(async () => {
      record.lastEventId = await journal.append(e)
    })
  }
  /**
   * A chunk's lines, in one step of the chain (not a link per line); with nothing queued ahead
   * and room in the journal, at once and without a promise — a flood of small chunks paid a
   * chain link and its microtasks per chunk. Undefined when every line is in.
   */
  const appendLines = (
    stream: 'stdout' | 'stderr',
    lines: (OutputLine | number)[],
    source: Uint8Array = EMPTY,
  ): Promise<void> | undefined => {
    // A clean line is two numbers, its range in `source` (ByteLineSplitter.pushRanges); clean
    // lines in a row go in as one run of frames (Journal.tryAppendRun). The index after what
    // went in at once: `i` when the next line would wait.
    const tryAppend = (i: number): number => {
      const line = lines[i]!
      if (typeof line === 'number') return journal.tryAppendRun(stream, source, lines, i)
      return journal.tryAppendLine(stream, line) === 0 ? i : i + 1
    }
    let done = 0
    if (queued === 0) {
      while (done < lines.length) {
        const next = tryAppend(done)
        if (next === done) break
        done = next
      }
      if (done > 0) record.lastEventId = journal.lastId
      if (done === lines.length) return undefined
    }
    return chain(async () => {
      for (let i = done; i < lines.length;) {
        // Synchronously while there is room, so a reader gets the whole chunk in one batch.
        const next = tryAppend(i)
        if (next > i) {
          record.lastEventId = journal.lastId
          i = next
          continue
        }
        const line = lines[i]!
        if (typeof line === 'number') {
          record.lastEventId = await journal.appendRange(stream, source, line, lines[i + 1] as number)
          i += 2
        } else {
          record.lastEventId = await journal.appendLine(stream, line)
          i += 1
        }
      }
    })
  }
  void append(makeEvent('init', { text: id }))
  void append(makeEvent('ping', { text: 'pong' }))

  /**
   * The end's answer first, then the retention: finished() starts the reactions that write the
   * stream's last frames, and the store's bookkeeping (the oldest finished commands dropped, the
   * log room given back: 10–15 µs) waited in front of them. An immediate runs at the start of the
   * loop's next turn, before the sockets are polled again: a request read after this answer finds
   * it done (spec/command-retention). This command's own status is final before either.
   */
  const ended = () => {
    finished()
    setImmediate(() => store.finish(record))
  }
  if (!proc) {
    const event = errorEvent('CommandExecError', failure, [failure])
    void finish(record, append, journal, event, 255, failure).then(ended)
    return record
  }
  record.proc = proc
  // Kept while something of the command may run (an interrupt ends what it left running), not
  // after: a finished record holding it kept the process object and its pipes' streams, ~640 KB
  // of heap each as the runtime counts it, for up to --command-retention-count commands.
  void proc.released.then(() => {
    record.proc = undefined
  })

  // A log that stops early is said once, in the stream and in the status; the stream goes on.
  const logChunk = (chunk: Uint8Array) => {
    if (record.logTruncated) return
    const own = settings.logMaxBytes - record.logBytes
    const room = Math.min(own, store.logRoom(settings.logTotalBytes))
    const written = log.write(chunk.subarray(0, Math.max(0, room)))
    record.logBytes += written
    store.logged(written)
    if (!log.truncated && chunk.length > room)
      log.truncate(
        room < own
          ? `running commands' logs reached ${settings.logTotalBytes} bytes together`
          : `log limit of ${settings.logMaxBytes} bytes reached`,
      )
    noteTruncated()
  }
  const noteTruncated = () => {
    if (!log.truncated || record.logTruncated) return
    record.logTruncated = log.truncated
    void append(makeEvent('status', { text: 'log_truncated', reason: log.truncated }))
  }
  // Not async: a chunk whose lines all went in at once returns nothing to wait for.
  const onChunk = (stream: 'stdout' | 'stderr', splitter: ByteLineSplitter) => (chunk: Uint8Array) => {
    if (stream === 'stdout') pipes?.carried(chunk.length)
    logChunk(chunk)
    const { source, lines } = splitter.pushRanges(chunk)
    return lines.length > 0 ? appendLines(stream, lines, source) : undefined
  }
  const splitters = { stdout: new ByteLineSplitter(), stderr: new ByteLineSplitter() }
  const pace: Pace = {
    paced: () => !journal.followed,
    ready: () => (journal.followed ? undefined : unread.ready()),
    spend: ms => journal.followed || unread.spend(ms),
  }
  // Killed by execd (an interrupt, its timeout, shutdown), it has nothing left to slow down: what
  // its pipes still hold goes to the journal whether or not its client reads (the log keeps every
  // byte; a reader behind is told what it missed), so it finishes now instead of staying
  // "running" until a client that stopped reading goes away.
  void proc.exited.then(info => info.killedBy && journal.stopPacing())
  void (async () => {
    await Promise.all(
      (['stdout', 'stderr'] as const).map(s =>
        pump(pipes?.stream(s) ?? proc[s], proc.exited, onChunk(s, splitters[s]), pace).finally(() => pipes?.done(s)),
      ),
    )
    for (const s of ['stdout', 'stderr'] as const) {
      const tail = splitters[s].end()
      if (tail.length > 0) await appendLines(s, tail)
    }
    // Output held for a descriptor (log.ts) that the file still cannot take stops the log here.
    log.close()
    noteTruncated()
    const info = await proc.exited
    // A kill is reported once the whole group is gone, not just the leader.
    if (info.killedBy) await proc.kill(info.killedBy)
    const { event, code, error } = terminalFor(info, record, p.req.timeout, oom)
    await finish(record, append, journal, event, code, error)
    ended()
  })()
  return record
}

/** The record's final status and its terminal event, the journal's last. */
async function finish(
  record: CommandRecord,
  append: (e: ExecEvent) => Promise<void> | undefined,
  journal: Journal,
  event: ExecEvent,
  code: number,
  error?: string,
): Promise<void> {
  Object.assign(record, { running: false, exitCode: code, error, finishedAt: new Date(), terminal: event })
  const waiting = append(event)
  if (waiting) await waiting
  journal.end()
}

/**
 * The terminal event of CONTRACT §2 and the status fields for an exit: Go's words for it, as the
 * reference says them, or a cell's where the kernel's OOM killer ended it (still `signal: killed`
 * first, with what filled the memory after).
 */
function terminalFor(info: ExitInfo, record: CommandRecord, timeout: number | undefined, oom: OomWatch) {
  const timedOut = info.killedBy === 'timeout'
  const code = info.code ?? -1
  if (code === 0 && !timedOut) {
    const execution_time = Math.round(performance.now() - record.startedMono)
    return { event: makeEvent('execution_complete', { execution_time }), code }
  }
  const error = timedOut
    ? `${describeExit(info)} (timeout after ${timeout} ms)`
    : deathWords(info, oom.outOfMemory(info), 'command')
  return { event: errorEvent('CommandExecError', String(code), [error]), code, error }
}
