/** The commands section (CONTRACT §4): `/command` foreground and background, status, logs, events. */
import { Elysia } from 'elysia'
import type { Config, OptionSpec } from '../../core/config'
import { emptyOk, json } from '../../core/errors'
import { INTERRUPTS } from '../../core/interrupts'
import type { Plugin, PluginContext } from '../../core/plugin'
import { COMMAND_RUNNER } from '../../core/services'
import { limitStreams, streamed } from '../../core/sse'
import { Commands, type CommandSettings } from './ops'
import { CommandStatusSchema, EventsQuery, IdParams, InterruptQuery, LogsQuery, RunCommandBody } from './schema'

const options: OptionSpec[] = [
  {
    flag: 'command-retention-count',
    env: 'EXECD_COMMAND_RETENTION_COUNT',
    description: 'finished commands whose status and log are kept',
    default: '256',
  },
  {
    flag: 'command-retention-age',
    env: 'EXECD_COMMAND_RETENTION_AGE',
    description: 'seconds a finished command is kept',
    default: '21600',
  },
  {
    flag: 'command-retention-bytes',
    env: 'EXECD_COMMAND_RETENTION_BYTES',
    description: 'total log bytes of finished commands kept',
    default: String(512 * 1024 * 1024),
  },
  {
    flag: 'command-log-max-bytes',
    env: 'EXECD_COMMAND_LOG_MAX_BYTES',
    description: 'bytes of one command written to its log (the stream gets all)',
    default: String(256 * 1024 * 1024),
  },
  {
    flag: 'command-interrupt-grace',
    env: 'EXECD_COMMAND_INTERRUPT_GRACE_MS',
    description: 'ms between SIGTERM and SIGKILL on interrupt',
    default: '500',
  },
  {
    flag: 'max-commands',
    env: 'EXECD_MAX_COMMANDS',
    description:
      'commands running at once, foreground (which go on when their client leaves) and background (0 = no limit); more are refused with 503',
    default: '512',
  },
  {
    flag: 'max-background-commands',
    env: 'EXECD_MAX_BACKGROUND_COMMANDS',
    description: 'background commands running at once (0 = no limit); more are refused with 503',
    default: '128',
  },
  {
    flag: 'max-streams',
    env: 'EXECD_MAX_STREAMS',
    description:
      'event streams open at once, of every kind: commands, session runs, code, replays, metrics watch (0 = no limit); more are refused with 503',
    default: '256',
  },
]

export function commandSettings(config: Config): CommandSettings {
  return {
    logMaxBytes: config.int('command-log-max-bytes', 256 * 1024 * 1024),
    interruptGraceMs: config.int('command-interrupt-grace', 500),
    maxBackground: config.int('max-background-commands', 128),
    maxRunning: config.int('max-commands', 512),
    retention: {
      count: config.int('command-retention-count', 256),
      ageMs: config.int('command-retention-age', 21600) * 1000,
      bytes: config.int('command-retention-bytes', 512 * 1024 * 1024),
      journals: 16,
    },
  }
}

let commands: Commands | undefined

/** The operations, once `setup` ran (the CLI uses them without HTTP). */
export function commandOps(): Commands {
  if (!commands) throw new Error('the command plugin is not set up')
  return commands
}

const parseIntOr = (raw: string | null | undefined, fallback: number): number => {
  const n = Number(raw)
  return raw != null && raw !== '' && Number.isInteger(n) ? n : fallback
}

export const command: Plugin = {
  name: 'command',
  options,
  setup(ctx: PluginContext) {
    commands = new Commands(commandSettings(ctx.config))
    // Streams of every section share one cap; it is declared here, with the commands' own.
    limitStreams(ctx.config.int('max-streams', 256))
    const ops = commands
    ctx.registry.provide(COMMAND_RUNNER, { run: req => ops.run(req) })
    ctx.registry.require(INTERRUPTS).add(20, id => ops.interrupt(id))
  },
  routes: (ctx: PluginContext) => {
    const ops = commandOps()
    const hub = ctx.registry.require(INTERRUPTS)
    return new Elysia({ name: 'api/command', detail: { tags: ['command'] } })
      .post('/command', ({ body }) => streamed(() => ops.run(body)), {
        body: RunCommandBody,
        detail: {
          summary: 'Run a shell command: SSE init → stdout/stderr lines → execution_complete or error',
          responses: { 200: { description: 'text/event-stream of ExecEvent' } },
        },
      })
      .get('/command/status/:id', ({ params }) => json(ops.status(params.id)), {
        params: IdParams,
        response: { 200: CommandStatusSchema },
        detail: { summary: 'Status of a command (foreground or background)' },
      })
      .get(
        '/command/:id/logs',
        ({ params, query }) => {
          const { file, next } = ops.logs(params.id, parseIntOr(query.cursor, 0))
          return new Response(file, {
            headers: { 'content-type': 'text/plain; charset=utf-8', 'EXECD-COMMANDS-TAIL-CURSOR': String(next) },
          })
        },
        {
          params: IdParams,
          query: LogsQuery,
          detail: {
            summary:
              'Output bytes (stdout and stderr interleaved) from a byte cursor; next cursor in EXECD-COMMANDS-TAIL-CURSOR',
          },
        },
      )
      .get(
        '/command/:id/events',
        ({ params, query, request }) => {
          const after = parseIntOr(request.headers.get('last-event-id') ?? query.after, 0)
          return streamed(() => ops.events(params.id, Math.max(0, after)))
        },
        {
          params: IdParams,
          query: EventsQuery,
          detail: { summary: 'Replay the events after Last-Event-ID (or ?after=), then follow live' },
        },
      )
      .delete(
        '/command',
        async ({ query }) => {
          await hub.stop(query.id)
          return emptyOk()
        },
        {
          query: InterruptQuery,
          detail: { summary: 'Interrupt a command (SIGTERM, then SIGKILL), a code execution or a session run' },
        },
      )
  },
  close: () => commands?.close(),
}
