/**
 * `execd serve`: the HTTP API on Bun.serve, with graceful shutdown; with `-- <command>`, also
 * the container's main process (cmd/entrypoint.ts), whose exit ends execd.
 */
import { createApp } from '../core/app'
import { SERVER, settingsOf, type Settings } from '../core/config'
import { CONNECTION_OPTIONS, startHttpClient } from '../core/connections'
import { keepChildEnv } from '../core/child-env'
import { rawTargetServe } from '../core/raw-target'
import { createTokenCheck } from '../core/auth'
import { errorResponse, toExecdError } from '../core/errors'
import { MAX_HEAD_BYTES } from '../core/front-door'
import { createLogger, parseLogLevel, toStdout, type Logger } from '../core/log'
import type { LogFile } from '../core/log-file'
import type { Plugin } from '../core/plugin'
import { adoptOrphans, startOrphanReaper } from '../core/reaper'
import { scrubSecrets, withdrawSecrets } from '../core/secrets'
import { socketDispatch } from '../core/websocket'
import { plugins, runtimes } from '../plugins'
import type { MainProcess } from './entrypoint'
import { serveConfigFrom } from './options'
import { checkStartable } from './main-startable'
import { listenFailure } from './serve-listen'
import { holdSignals, stopOnSignals } from './serve-signals'
import { guardUncaught } from './serve-uncaught'

/** When the start is over and the daemon may give back what starting used (below). */
const SETTLED_MS = 1000

/** Shutdown must finish well within 5 s: stream ends, group kills, then exit. */
const SHUTDOWN_LIMIT_MS = 4000

/**
 * The log file, if one is configured. One that cannot be opened ends execd at once with one
 * line on stderr and exit status 2, as the reference refuses to start (it panics): a daemon
 * whose logs silently went elsewhere would be worse.
 */
async function openLogFile(path: string | undefined): Promise<LogFile | undefined> {
  if (!path || path === 'stdout' || path === 'stderr') return undefined
  const { LogFile } = await import('../core/log-file')
  try {
    return new LogFile(path)
  } catch (err) {
    process.stderr.write(`execd: ${(err as Error).message} (--log-file / EXECD_LOG_FILE)\n`)
    process.exit(2)
  }
}

/**
 * The server, or one line saying where it could not listen: Bun's own words named neither the
 * address nor the flags ("error EADDRNOTAVAIL", "invalid argument").
 */
type Processes = typeof import('../core/process')

/**
 * Process ownership (core/process.ts: process groups, cgroups, the kill at exit) with the
 * capability warning, loaded after listening rather than before: it brings node:fs, whose load
 * the first /ping waited for. No child may be spawned before it is set up, so serve opens every
 * section only once it is (`afterOwnership`): every child comes from a section that serve opens
 * after listening, or from the main process, which is not an owned one.
 */
function processOwnership(settings: Settings<typeof SERVER>, log: Logger, announce: () => void) {
  let loading: Promise<Processes> | undefined
  const ownership = {
    /** The module, once set up. */
    now: undefined as Processes | undefined,
    /** Stops reaping what was re-parented to execd, after one last sweep (core/reaper.ts). */
    stopAdopting: () => {},
    /** The module once set up, if anything asked for it. */
    asked: async () => await loading,
    ready: () =>
      (loading ??= Promise.all([import('../core/process'), import('../core/capabilities')]).then(
        ([processes, { warnMissing }]) => {
          // The listening line first, even when a first command gets here before the first poll.
          announce()
          // Before any section spawns a child (a spare interpreter): name what this container lacks, once.
          warnMissing(log)
          // Process-wide, as the children they govern are: every owned process group of this
          // daemon, whichever section started it.
          processes.setDefaultGrace(settings.shutdownGrace)
          processes.ownProcessesUntilExit(log, settings.cgroups !== 'off', settings.memoryReserve)
          // Before the first child too: what children leave behind is re-parented to execd.
          ownership.stopAdopting = adoptOrphans(processes.ownsPid, log)
          return (ownership.now = processes)
        },
      )),
  }
  return ownership
}

/** The sections as serve opens them: each once process ownership is set up (above). */
const afterOwnership = (sections: readonly Plugin[], ready: () => Promise<unknown>): Plugin[] =>
  sections.map(section => ({ ...section, open: async ctx => (await ready(), section.open(ctx)) }))

/**
 * `EXECD_LOOP_LAG_LOG=<file>`: the debug-only probe of the event loop's delay (core/loop-lag.ts),
 * told of every request. Taken out of the environment, as children need not see it.
 */
async function withLoopLagProbe<F extends (req: Request, server: Bun.Server<unknown>) => unknown>(
  fetch: F,
): Promise<F> {
  const path = process.env.EXECD_LOOP_LAG_LOG
  if (!path) return fetch
  delete process.env.EXECD_LOOP_LAG_LOG
  const probe = (await import('../core/loop-lag')).startLoopLagProbe(path)
  return ((req, server) => (probe.request(req), fetch(req, server))) as F
}

/**
 * Tells whether a request other than `GET /ping` (what a readiness probe asks) has come since
 * listening, until `settled()`: the settle's `Bun.shrink()` throws away all compiled code, so
 * a daemon put to work at once compiled its request path twice (a command or cell every few ms
 * from the first `/ping` on: ~110 of ~145 hot functions compiled again after the shrink, 1 s
 * in; bench/README.md, round 16). After `settled()` a request costs one test of a boolean.
 */
function watchEarlyWork<F extends (req: Request, server: Bun.Server<unknown>) => unknown>(fetch: F) {
  let watching = true
  let worked = false
  const watched = ((req, server) => {
    if (watching && !worked && !(req.method === 'GET' && req.url.endsWith('/ping'))) worked = true
    return fetch(req, server)
  }) as F
  return {
    fetch: watched,
    /** Stops watching; whether work came meanwhile. */
    settled(): boolean {
      watching = false
      return worked
    },
  }
}

/** Runs `fn` once the event loop has polled for I/O at least once (see the call below). */
const afterFirstPoll = (fn: () => void) => setImmediate(() => setImmediate(fn))

export async function serve(flags: Record<string, unknown>): Promise<void> {
  // cac puts what follows `--` here: the main process of `execd serve -- <command>`.
  const mainArgv = ((flags['--'] as unknown[] | undefined) ?? []).map(String)
  const config = await serveConfigFrom(flags)
  const settings = settingsOf(config, SERVER)
  const logFile = await openLogFile(settings.logFile)
  // The reference's own names for its console outputs; any other value is a file path.
  const log = createLogger(
    parseLogLevel(settings.logLevel),
    {},
    logFile?.write ?? (settings.logFile === 'stdout' ? toStdout : undefined),
  )
  // Children (commands, shells, interpreters) inherit execd's environment and can read its
  // /proc/PID/cmdline and environ: no secret may stay in either. The variables go now; the
  // bytes before the first child exists, or in the first idle turn after listening (below).
  const secretSpecs = config.specs.filter(s => s.secret)
  withdrawSecrets(
    secretSpecs,
    secretSpecs.map(s => config.get(s.flag)),
    () =>
      log.warn(
        'could not scrub secrets from /proc/self/cmdline and environ: children may read flags given on the command line',
      ),
  )
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
  // A --root that does not exist ends the start here, not when the sections that confine to it
  // open after listening (each keeps it: core/workdir.ts workRoot). Without one there is nothing
  // to check (and node:fs stays unloaded).
  if (settings.root) (await import('../core/workdir')).realRoot(settings.root)
  // A main process that cannot start ends the start here too, in one line, before listening.
  if (mainArgv.length > 0) checkStartable(mainArgv[0]!)
  // The listening line, once there is a server to name (below).
  let announce = () => {}
  const ownership = processOwnership(settings, log, () => announce())

  // Listening comes first: each group of routes is built after, or on its first request.
  const {
    app,
    fetch: answer,
    prefixes,
    loadAll,
    close,
    sections,
  } = await createApp({ plugins: afterOwnership(plugins, ownership.ready), runtimes, config, log }, { lazy: true })
  const early = watchEarlyWork(await withLoopLagProbe(answer))
  const fetch = early.fetch
  const door = rawTargetServe(fetch, createTokenCheck(token), prefixes)
  let server: ReturnType<typeof Bun.serve>
  // From here a stop is a shutdown, not the default action's death (cmd/serve-signals.ts);
  // before, nothing has started that a stop would leave (a token read from a terminal still ends at Ctrl-C).
  holdSignals()
  // Before any connection can take an fd: started at EMFILE it ends the process (core/connections.ts).
  // In loadAll, after the first poll, it came after the first /ping: a client that lowered the
  // fd limit once /ping answered ended execd (spec/machine-runs-out, 1 run in 2 at load 10).
  void startHttpClient()
  try {
    server = listen()
  } catch (err) {
    throw listenFailure(err, hostname, port)
  }
  function listen() {
    return Bun.serve({
      port,
      hostname,
      // Bun sets SO_REUSEPORT when development is false: a second `execd serve` on the same
      // port then started without a word and the kernel shared the connections between the two
      // daemons (each with its own token, contexts and files: half the requests went to each).
      reusePort: false,
      // Matched on the request target as sent, before the URL parser resolves its dot segments.
      routes: door.routes,
      fetch: door.fetch,
      // Never Bun's development error page (it shows source and paths); errors are the contract's JSON.
      development: false,
      error: err => errorResponse(toExecdError(err)),
      // Uploads are streamed and limited by the files section itself (JSON 413), not by Bun.
      maxRequestBodySize: Number.MAX_SAFE_INTEGER,
      ...CONNECTION_OPTIONS,
      // A route that upgrades passes the socket's handlers as its data (core/websocket.ts). Bun
      // holds a message's fragments until its last one, up to maxPayloadLength (16 MiB by default):
      // 20 terminals each sent 15 MiB of a message never finished held +309 MiB of execd, and
      // terminals and relays together could hold 5 GiB. One value for every socket: Bun takes it
      // per server, not per upgrade. 0 is no limit, as for the other limits (Bun's own 0 would
      // refuse every message that is not empty).
      websocket: { ...socketDispatch, maxPayloadLength: settings.maxWebsocketMessage || 0xffffffff },
    })
  }
  // Routes reach the server (for server.upgrade, and downloads to watch their answers' ends:
  // core/answering.ts) through the app, as under app.listen().
  app.server = server
  let stopReclaiming = () => {}
  // Bun waits for the main process as for any child it spawned: the reaper leaves it alone.
  let main: MainProcess | undefined
  const stopReaper = startOrphanReaper(pid => !!ownership.now?.ownsPid(pid) || pid === main?.pid, log)

  // Said after the first poll (or first thing at a stop, or before the first child's warning),
  // not before it: the line (every option redacted, one JSON line) ran between listening and
  // the first poll, and a /ping that came as the port opened waited behind it. Whoever reads
  // the line still finds the port open.
  announce = () => {
    announce = () => {}
    const shown = hostname === '::' || hostname === '0.0.0.0' ? 'localhost' : hostname
    log.info('execd listening', {
      url: `http://${shown.includes(':') ? `[${shown}]` : shown}:${server.port}`,
      auth: token ? 'token required' : 'none',
      maxHeadBytes: MAX_HEAD_BYTES,
      options: config.redacted(),
    })
    if (!token) {
      // The Host check keeps browsers out, not other machines: a client that can reach a
      // non-loopback address sends whatever Host it likes.
      const loopbackOnly = /^(127\.|::1$|localhost$)/.test(hostname)
      log.warn(
        loopbackOnly
          ? 'no access token set: every local request is accepted; browsers and non-loopback Host names are refused (set --access-token, --access-token-file or EXECD_ACCESS_TOKEN)'
          : `no access token set and listening on ${hostname}: any client that reaches this address and sends a loopback Host is served (set --access-token, --access-token-file or EXECD_ACCESS_TOKEN)`,
      )
    }
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
    announce()
    // Unless a child made them leave already: a process of this container that is no child of
    // ours may read /proc/<pid>/cmdline too.
    scrubSecrets()
    // Set by now (the secrets withdrawn, the loop-lag probe's variable taken before listening).
    keepChildEnv()
    // A stop that came first (a main process that exited at once, a SIGTERM as the port
    // opened) closed the sections: what follows would only fail on them, and say so as errors
    // of a daemon that stopped cleanly ("could not build the routes", "--defer-accept not applied").
    if (stopping) return
    // The cgroup tree, unless a first command already made it (it waits for no one: made on
    // the spot by whichever comes first, before any owned process is spawned).
    void ownership.ready().then(processes => processes.makeCgroupTree())
    // After listening: it loads node:fs, which a start need not wait for (core/layout.test.ts).
    void import('../core/idle-reclaim').then(({ reclaimIdleAtFdLimit }) => {
      if (!stopping) stopReclaiming = reclaimIdleAtFdLimit(server, log, settings.fdLimitCheck)
    })
    // Also after listening, for the same reason; until then Bun's own 1 s applies (core/connections.ts).
    void import('../core/defer-accept').then(({ deferAccept }) => {
      if (!stopping) deferAccept(Number(server.port), settings.deferAccept, log)
    })
    void loadAll()
      .then(
        () =>
          setTimeout(() => {
            // A daemon already at work keeps what it compiled for that work (see watchEarlyWork).
            if (early.settled()) return
            Bun.gc(true)
            Bun.shrink()
          }, SETTLED_MS).unref(),
        err => {
          // A stop while they were built: the sections went from under the build, nothing failed.
          if (!stopping)
            log.error('could not build the routes; each request tries again', { error: (err as Error).message })
        },
      )
      // The run-once code of the start is behind us: what runs from now on is the daemon's own
      // work, worth compiling as usual (the executable starts with a reluctant JIT, Makefile).
      .finally(() => Bun.unsafe.setJITPolicy(1))
  })

  let stopping = false
  const shutdown = async (reason: string, status = 0) => {
    if (stopping) return
    stopping = true
    announce()
    log.info('shutting down', { reason })
    const hardStop = setTimeout(() => process.exit(status), SHUTDOWN_LIMIT_MS)
    hardStop.unref?.()
    void server.stop(false) // stop accepting; open responses finish below
    sections.ctx.streams.closeAll()
    await close()
    // Ownership that nothing asked for owns nothing.
    // The main process follows execd only when execd chose to end (an error of its own):
    // otherwise it has exited already, which is why execd is ending.
    if (main) await (await import('./entrypoint')).endMain(main, settings.shutdownGrace)
    await (await ownership.asked())?.killAll('shutdown')
    if (main && process.pid === 1) await (await import('./entrypoint')).endLeftovers(settings.shutdownGrace)
    else if (main) await (await import('./entrypoint')).endAdopted(settings.shutdownGrace)
    stopReaper()
    stopReclaiming()
    // Let the final error frames reach clients before the sockets go (and what was just
    // killed become a zombie execd reaps).
    await new Promise(r => setTimeout(r, 100))
    ownership.stopAdopting()
    await server.stop(true)
    process.exit(status)
  }
  guardUncaught(log, (reason, status) => void shutdown(reason, status), [
    token ?? '',
    ...secretSpecs.map(s => config.get(s.flag) ?? ''),
  ])
  if (mainArgv.length === 0) {
    // SIGHUP reopens the log file when there is one (above); without, it stops execd.
    stopOnSignals(signal => void shutdown(signal), log, sections.held, logFile ? ['SIGHUP'] : [])
    return
  }
  // The main process decides when the container ends: signals go to it, and execd follows it.
  const { forwardSignals, startMain } = await import('./entrypoint')
  // execd the subreaper before the main process starts: what it leaves behind comes to execd,
  // which ends it at shutdown (endAdopted), rather than to an init that lets it run on.
  await ownership.ready()
  main = startMain(mainArgv, log, () => announce())
  forwardSignals(main, log, settings.mainStopGrace)
  const status = await main.status
  await shutdown('main process exited', status)
}
