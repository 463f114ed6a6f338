/**
 * What `execd exec <language>` needs of the code section, here (the opened section's service)
 * or on a daemon (remote.ts, the /code routes): the same calls, the same events.
 */
import { openSections } from '../core/app'
import type { Config } from '../core/config'
import type { Completeness } from '../core/plugin'
import type { ExecEvent } from '../core/events'
import { createLogger } from '../core/log'
import { killAll } from '../core/process'
import { plugins, runtimes } from '../plugins'
import { t } from 'elysia'
import { code as codeSection } from '../plugins/code'
import { CodeContextSchema, LanguageSchema } from '../plugins/code/contract'
import { command } from '../plugins/command'
import { onStop, stopSignal } from './lifecycle'
import { ownLine } from './paced-output'
import { plainEvents } from './plain-events'
import { visible } from './visible'
import type { Remote } from './remote'

export interface Language {
  language: string
  available: boolean
  runtime: string
  detail?: string
}

export interface CodeClient {
  /** The daemon's address, for a remote client: what is left on it when execd leaves is said. */
  base?: string
  languages(): Promise<Language[]>
  /** A new context (one interpreter, state kept between runs); its id. */
  open(language: string, cwd?: string): Promise<string>
  /**
   * Runs a cell; `id` is what interrupt() takes. `signal` gives up on the request while its
   * answer has not begun (a daemon stopped or stuck); it cannot stop a run once it has an id.
   */
  run(context: string, code: string, signal?: AbortSignal): Promise<{ id: string; events: AsyncIterable<ExecEvent> }>
  /** Stops the running cell (state kept); resolves once it stopped. */
  interrupt(id: string): Promise<void>
  /**
   * Whether `code` is a whole cell, in the context's interpreter's words (a Jupyter kernel's
   * is_complete). Here only: the wire contract has no such route, so a daemon is not asked.
   */
  isComplete?(context: string, code: string, waitMs: number): Promise<Completeness>
  close(): Promise<void>
}

export async function localCode(config: Config): Promise<CodeClient> {
  // The code section, and the command section it sends shell languages to (if listed).
  const needed = plugins.filter(p => p === codeSection || p === command)
  const sections = await openSections({ plugins: needed, runtimes, config, log: createLogger('warn') })
  const service = sections.get(codeSection).ops
  return {
    languages: () => service.languages(),
    open: async (language, cwd) => (await service.createContext(language, cwd)).id,
    async run(context, code) {
      const { execution, events } = await service.run({ code, context: { id: context } })
      return { id: execution?.id ?? context, events: plainEvents(events) }
    },
    interrupt: async id => void (await service.interrupt(id)),
    isComplete: (context, code, waitMs) => service.isComplete(context, code, waitMs),
    async close() {
      await sections.close()
      await killAll('close', 500)
    },
  }
}

/** How long a run's end waits for the daemon to close its context. */
const CLOSE_WAIT_MS = 5_000

/** How long a stop waits for a context being opened (a JVM, a Jupyter kernel: seconds). */
const OPEN_GRACE_MS = 15_000

export function remoteCode(remote: Remote): CodeClient {
  const contexts: string[] = []
  return {
    base: remote.base,
    languages: () => remote.json('GET', '/code/languages', t.Array(LanguageSchema)),
    async open(language, cwd) {
      // A stop while the daemon opens the context waits for its id, for close() to delete it: left
      // to the signal, execd exited at once and the daemon kept the interpreter it opened for us.
      // The stop's deadline then bounds that close too; a second stop leaves at once. The wait
      // is said, in one line: it was silent, up to 16 s after a Ctrl-C that seemed ignored.
      const stop = onStop(
        () =>
          ownLine(
            `execd: stopping once the daemon has opened the ${visible(language)} context, to close it (at most ${OPEN_GRACE_MS / 1000} s; a second Ctrl-C leaves it open)`,
          ),
        OPEN_GRACE_MS,
      )
      try {
        const { id } = await remote.json('POST', '/code/context', CodeContextSchema, { json: { language, cwd } })
        contexts.push(id)
        return id
      } finally {
        if (!stopSignal()) stop()
      }
    },
    async run(context, code, signal) {
      const res = await remote.call('POST', '/code', { json: { code, context: { id: context } }, signal })
      return {
        id: res.headers.get('EXECD-EXECUTION-ID') ?? context,
        events: remote.events(res, 'POST /code', 'while the cell ran'),
      }
    },
    interrupt: id => remote.interrupt('/code', id),
    async close() {
      // A context made for this run goes with it, as a local one does. Within CLOSE_WAIT_MS: Ctrl-D
      // at a prompt whose daemon was stopped (SIGSTOP) waited out --answer-timeout (60 s; 0: for
      // ever). What the daemon does not delete now it closes as idle (--context-idle).
      const wait = AbortSignal.timeout(CLOSE_WAIT_MS)
      const closes = contexts.map(id =>
        remote.call('DELETE', `/code/contexts/${encodeURIComponent(id)}`, { signal: wait }),
      )
      const ends = await Promise.allSettled(closes)
      if (wait.aborted && ends.some(e => e.status === 'rejected'))
        process.stderr.write(
          `execd: ${remote.base} has not closed the context within ${CLOSE_WAIT_MS / 1000} s (a daemon stopped, or stuck?): it is left to the daemon's idle expiry\n`,
        )
    },
  }
}
