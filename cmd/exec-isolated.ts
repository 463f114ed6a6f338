/**
 * `execd exec --isolated <workspace> [--mode rw|ro|overlay] [--profile] [--share-net] 'cmd'`:
 * the SDK's `runOnce` — the isolated section's create, run and delete, so the command runs in a
 * throwaway bubblewrap session (an overlay session's changes are discarded with it). Without
 * `--url` the section is called directly; with it, the daemon's `/v1/isolated` routes, and the
 * workspace is a path on the daemon's machine. Output as `exec --shell`; the exit code is the
 * command's.
 */
import type { ExecEvent } from '../core/events'
import { watchBrokenPipe } from './broken-pipe'
import { onStop, stopSignal } from './lifecycle'
import { printRun } from './run-output'
import { plainEvents } from './plain-events'
import { configFrom, parseEnvPairs } from './options'
import { checkShape, type CreateRequest, type RunRequest } from '../plugins/isolated/contract'
import { typedCheck, UsageError } from './errors'
import { t } from 'elysia'
import { isAbsolute, resolve } from 'node:path'
import { remoteOf, type Remote } from './remote'

/** One throwaway session, on this machine or on the daemon's. */
interface Isolation {
  create(req: CreateRequest): Promise<string>
  run(id: string, req: RunRequest): Promise<AsyncIterable<ExecEvent>>
  /** Interrupts the session's run; its last events still come. */
  interrupt(id: string): Promise<void>
  delete(id: string): Promise<void>
  close(): Promise<void>
}

export async function execIsolated(code: string, options: Record<string, unknown>): Promise<number> {
  const remote = remoteOf(options)
  const request: CreateRequest = {
    workspace: {
      path: workspacePath(String(options.isolated), remote !== undefined),
      mode: options.mode as CreateRequest['workspace']['mode'],
    },
    profile: options.profile as CreateRequest['profile'],
    share_net: options.shareNet === true,
  }
  typedCheck(() => checkShape(request))
  // The section's own refusal of a run, said before a session is made for it.
  if (code.trim() === '') throw new UsageError('code is required', 'INVALID_REQUEST_BODY')
  // Checked before a session is made: a name the session's shell cannot export is a typo (exit 2).
  const envs = parseEnvPairs(options.env, { shell: true })
  const isolation = remote ? remoteIsolation(remote) : await localIsolation(options)
  let id: string | undefined
  let stopping: Promise<void> | undefined
  const interrupt = () => {
    if (id !== undefined) stopping ??= isolation.interrupt(id).catch(() => {})
  }
  const stop = onStop(interrupt)
  const pipe = watchBrokenPipe(interrupt)
  try {
    id = await isolation.create(request)
    if (stopSignal()) interrupt() // a signal that came while the session was being made
    const timeout = options.timeout === undefined ? undefined : Number(options.timeout) / 1000
    const events = await isolation.run(id, { code, envs, timeout_seconds: timeout })
    return await printRun(events, !!options.json, pipe)
  } finally {
    pipe.dispose()
    await stopping
    // The session goes whichever way the run ended: a throwaway must not outlive its verb.
    if (id !== undefined) await isolation.delete(id).catch(() => {})
    stop()
    await isolation.close()
  }
}

/**
 * The workspace as typed, here: `--isolated .` (or `src`, `../app`) is that directory of this
 * shell's, as every other path the CLI takes locally, and the section, which takes absolute
 * paths alone, was handed `.` and refused it. Behind --url it names a directory on the daemon's
 * machine, whose working directory this shell cannot know: said so, with what to type instead.
 */
function workspacePath(typed: string, remote: boolean): string {
  if (typed === '' || isAbsolute(typed)) return typed
  if (!remote) return resolve(typed)
  throw new UsageError(
    `--isolated ${typed}: with --url the workspace is a directory on the daemon's machine; give its absolute path`,
    'INVALID_REQUEST_BODY',
  )
}

async function localIsolation(options: Record<string, unknown>): Promise<Isolation> {
  const [{ openSection }, { isolated }] = await Promise.all([import('../core/app'), import('../plugins/isolated')])
  // The isolated section's options given to exec (--isolated-tmpfs-size, ...) apply, as exec
  // --shell's command section reads its own.
  const section = await openSection(isolated, configFrom(options))
  const ops = section.ops
  return {
    create: async req => (await ops.create(req)).id,
    run: async (id, req) => plainEvents(await ops.run(id, req)),
    interrupt: async id => void (await ops.interrupt(id)),
    delete: id => ops.delete(id),
    close: async () => void (await section.close()),
  }
}

/** What the verb reads of a created session: its id (the rest echoes the request). */
const CREATED = t.Object({ session_id: t.String() })

function remoteIsolation(remote: Remote): Isolation {
  const session = (id: string) => `/v1/isolated/session/${encodeURIComponent(id)}`
  return {
    create: async req => (await remote.json('POST', '/v1/isolated/session', CREATED, { json: req })).session_id,
    run: async (id, req) =>
      remote.events(
        await remote.call('POST', `${session(id)}/run`, { json: req }),
        'POST /v1/isolated/session/{id}/run',
        'during the isolated run',
      ),
    // A session's id is also a command id: DELETE /command interrupts its run, as for a command.
    interrupt: id => remote.interrupt('/command', id),
    delete: id => remote.empty('DELETE', session(id)),
    close: async () => {},
  }
}
