/**
 * `execd serve`: the HTTP API on Bun.serve, with graceful shutdown; with `-- <command>`, also
 * the container's main process (cmd/entrypoint.ts), whose exit ends execd.
 */
import { createApp } from '../core/app'
import { warnMissing } from '../core/capabilities'
import { SERVER, settingsOf } from '../core/config'
import { CONNECTION_OPTIONS } from '../core/connections'
import { errorResponse, toExecdError } from '../core/errors'
import { MAX_HEAD_BYTES } from '../core/front-door'
import { createLogger, LogFile, parseLogLevel } from '../core/log'
import { killAll, makeCgroupTree, ownProcessesUntilExit, ownsPid, setDefaultGrace } from '../core/process'
import { startOrphanReaper } from '../core/reaper'
import { closeAllStreams } from '../core/sse'
import { hideSecrets } from '../core/secrets'
import { socketDispatch } from '../core/websocket'
import { setWorkRoot } from '../core/workdir'
import { plugins, runtimes } from '../plugins'
import { endLeftovers, forwardSignals, startMain, type MainProcess } from './entrypoint'
import { serveConfigFrom } from './options'

/** When the start is over and the daemon may give back what starting used (below). */
const SETTLED_MS = 1000

/** Shutdown must finish well within 5 s: stream ends, group kills, then exit. */
const SHUTDOWN_LIMIT_MS = 4000

/**
 * The log file, if one is configured. One that cannot be opened ends execd at once with one
 * line on stderr and exit status 2, as the reference refuses to start (it panics): a daemon
 * whose logs silently went elsewhere would be worse.
 */
function openLogFile(path: string | undefined): LogFile | undefined {
  if (!path || path === 'stdout' || path === 'stderr') return undefined
  try {
    return new LogFile(path)
  } catch (err) {
    process.stderr.write(`execd: ${(err as Error).message} (--log-file / EXECD_LOG_FILE)\n`)
    process.exit(2)
  }
}

/** Runs `fn` once the event loop has polled for I/O at least once (see the call below). */
const afterFirstPoll = (fn: () => void) => setImmediate(() => setImmediate(fn))

export async function serve(flags: Record<string, unknown>): Promise<void> {
  // cac puts what follows `--` here: the main process of `execd serve -- <command>`.
  const mainArgv = ((flags['--'] as unknown[] | undefined) ?? []).map(String)
  const config = serveConfigFrom(flags)
  // Children (commands, shells, interpreters) inherit execd's environment and can read its
  // /proc/PID/cmdline and environ: no secret may stay in either.
  const secretSpecs = config.specs.filter(s => s.secret)
  const scrubbed = hideSecrets(
    secretSpecs,
    secretSpecs.map(s => config.get(s.flag)),
  )
  const settings = settingsOf(config, SERVER)
  const logFile = openLogFile(settings.logFile)
  // The reference's own names for its console outputs; any other value is a file path.
  const toStdout = settings.logFile === 'stdout' ? (line: string) => void process.stdout.write(line) : undefined
  const log = createLogger(parseLogLevel(settings.logLevel), {}, logFile?.write ?? toStdout)
  if (logFile) {
    // logrotate's postrotate (or `kill -HUP`): the renamed file is done, a new one starts.
    process.on('SIGHUP', () => {
      try {
        logFile.reopen()
        log.info('log file reopened', { path: logFile.path })
      } catch (err) {
        log.error('could not reopen the log file; still writing to the previous one', { error: (err as Error).message })
      }
    })
  }
  const port = settings.port
  const token = settings.accessToken
  // Without a token only this machine may call: loopback unless an address is asked for.
  const hostname = settings.host || (token ? '::' : '127.0.0.1')
  // Process-wide, as the children they govern are: every owned process group (core/process.ts)
  // and every working directory (core/workdir.ts) of this daemon, whichever section started it.
  setDefaultGrace(settings.shutdownGrace)
  setWorkRoot(settings.root)
  ownProcessesUntilExit(log, settings.cgroups !== 'off')
  // Before any section spawns a child (a spare interpreter): name what this container lacks, once.
  warnMissing(log)

  // Listening comes first: each group of routes is built after, or on its first request.
  const { app, fetch, loadAll, close } = await createApp({ plugins, runtimes, config, log }, { lazy: true })
  const server = Bun.serve({
    port,
    hostname,
    fetch,
    // Never Bun's development error page (it shows source and paths); errors are the contract's JSON.
    development: false,
    error: err => errorResponse(toExecdError(err)),
    // Uploads are streamed and limited by the files section itself (JSON 413), not by Bun.
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    ...CONNECTION_OPTIONS,
    // A route that upgrades passes the socket's handlers as its data (core/websocket.ts).
    websocket: socketDispatch,
  })
  // Routes reach the server (for server.upgrade) through the app, as under app.listen().
  app.server = server
  // Bun waits for the main process as for any child it spawned: the reaper leaves it alone.
  let main: MainProcess | undefined
  const stopReaper = startOrphanReaper(pid => ownsPid(pid) || pid === main?.pid, log)

  const shown = hostname === '::' || hostname === '0.0.0.0' ? 'localhost' : hostname
  log.info('execd listening', {
    url: `http://${shown.includes(':') ? `[${shown}]` : shown}:${server.port}`,
    auth: token ? 'token required' : 'none',
    maxHeadBytes: MAX_HEAD_BYTES,
    options: config.redacted(),
  })
  if (!token) {
    log.warn(
      'no access token set: every local request is accepted; browsers and non-loopback Host names are refused (set --access-token, --access-token-file or EXECD_ACCESS_TOKEN)',
    )
  }
  if (!scrubbed) {
    log.warn(
      'could not scrub secrets from /proc/self/cmdline and environ: children may read flags given on the command line',
    )
  }

  // Every route is built from the second turn on (not in this one: starting the first build
  // costs 1–3 ms of CPU that the first requests would wait behind), one group per event-loop
  // turn; a request that comes first builds its own group (core/app.ts). The second, because
  // Bun runs the immediates queued while the program was loading before it first polls the
  // listening socket: the first /ping waited behind the cgroup tree and the first group's build
  // (compiled Bun.serve + 20 ms of work in one setImmediate: the first /ping after it; in two
  // nested ones, before it). Once that has settled, give back what only starting needed: the
  // code that mounted the routes and loaded the modules runs once, and its compiled forms and
  // garbage stayed resident (idle RSS 54.1 → 52.9 MiB); what a request needs is compiled again
  // on its next use.
  afterFirstPoll(() => {
    // The cgroup tree, unless a first command already made it (it waits for no one: made on
    // the spot by whichever comes first, before any owned process is spawned).
    makeCgroupTree()
    void loadAll().then(
      () =>
        setTimeout(() => {
          Bun.gc(true)
          Bun.shrink()
        }, SETTLED_MS).unref(),
      err => log.error('could not build the routes; each request tries again', { error: (err as Error).message }),
    )
  })

  let stopping = false
  const shutdown = async (reason: string, status = 0) => {
    if (stopping) return
    stopping = true
    log.info('shutting down', { reason })
    const hardStop = setTimeout(() => process.exit(status), SHUTDOWN_LIMIT_MS)
    hardStop.unref?.()
    void server.stop(false) // stop accepting; open responses finish below
    closeAllStreams()
    await close()
    await killAll('shutdown')
    if (main && process.pid === 1) await endLeftovers(settings.shutdownGrace)
    stopReaper()
    // Let the final error frames reach clients before the sockets go.
    await new Promise(r => setTimeout(r, 100))
    await server.stop(true)
    process.exit(status)
  }
  if (mainArgv.length === 0) {
    process.on('SIGTERM', () => void shutdown('SIGTERM'))
    process.on('SIGINT', () => void shutdown('SIGINT'))
    // A closed terminal: without a log file to reopen, stop as cleanly as on SIGTERM rather than
    // die by the default action, which would leave every child group running.
    if (!logFile) process.on('SIGHUP', () => void shutdown('SIGHUP'))
    return
  }
  // The main process decides when the container ends: signals go to it, and execd follows it.
  main = startMain(mainArgv, log)
  forwardSignals(main, log)
  const status = await main.status
  await shutdown('main process exited', status)
}
