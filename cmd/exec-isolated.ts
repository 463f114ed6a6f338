/**
 * `execd exec --isolated <workspace> [--mode rw|ro|overlay] [--profile] [--share-net] 'cmd'`:
 * the SDK's `runOnce` without HTTP — the isolated section's create, run and delete, so the
 * command runs in a throwaway bubblewrap session (an overlay session's changes are discarded
 * with it). Output as `exec --shell`; the exit code is the command's.
 */
import { openSection } from '../core/app'
import { encodeEvent } from '../core/events'
import { createLogger } from '../core/log'
import { isolated } from '../plugins/isolated'
import { BROKEN_PIPE_EXIT, watchBrokenPipe } from './broken-pipe'
import { commandExit, render } from './exec-shell'
import { UsageError } from './errors'
import { configFrom, parseEnvPairs } from './options'
import { remoteOf } from './remote'

export async function execIsolated(code: string, options: Record<string, unknown>): Promise<number> {
  // Not a remote verb yet: a command meant for the daemon's machine must not run on this one.
  if (remoteOf(options))
    throw new UsageError(
      '--isolated runs on this machine: drop --url (and EXECD_URL), or call /v1/isolated on the daemon',
    )
  const section = await openSection(isolated, configFrom({}), createLogger('error'))
  const ops = section.ops
  const abort = new AbortController()
  const onSignal = () => abort.abort()
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  const pipe = watchBrokenPipe(onSignal)
  try {
    const s = await ops.create({
      workspace: { path: String(options.isolated), mode: options.mode as 'rw' | 'ro' | 'overlay' | undefined },
      profile: options.profile as 'strict' | 'balanced' | undefined,
      share_net: options.shareNet === true,
    })
    const timeout = options.timeout === undefined ? undefined : Number(options.timeout) / 1000
    const events = await ops.run(
      s.id,
      { code, envs: parseEnvPairs(options.env), timeout_seconds: timeout },
      abort.signal,
    )
    let exit = 1
    for await (const e of events) {
      if (pipe.broken) {
        // Its reader has gone: the run is being interrupted; drain the rest unseen.
      } else if (options.json) process.stdout.write(`${encodeEvent(e)}\n`)
      else render(e)
      if (e.type === 'execution_complete') exit = 0
      if (e.type === 'error') exit = commandExit(e)
    }
    return pipe.broken ? BROKEN_PIPE_EXIT : exit
  } finally {
    pipe.dispose()
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    await section.close()
  }
}
