/**
 * The PTY section (CONTRACT §4): interactive terminals over a WebSocket, wire-compatible with
 * the reference's `/pty` (upstream PTY.md). Sessions live in `PtyStore`; socket.ts frames.
 */
import { Elysia } from 'elysia'
import { ExecdError, emptyOk, json } from '../../core/errors'
import type { Plugin } from '../../core/plugin'
import { upgradeSocket } from '../../core/websocket'
import { checkFree, connection } from './socket'
import { ConnectQuery, CreatePtyBody, CreatedPty, ErrorBody, PtyStatus, SessionIdParams } from './schema'
import { DEFAULT_LIMITS, PtyStore } from './store'

/** Replaced with the configured store at setup (the CLI never sets the PTY section up). */
let store = new PtyStore()

const isUpgrade = (request: Request) => request.headers.get('upgrade')?.toLowerCase() === 'websocket'

export const pty: Plugin = {
  name: 'pty',
  options: [
    {
      flag: 'pty-retain',
      env: 'EXECD_PTY_RETAIN_MS',
      description:
        'ms an exited (or never connected) PTY session with no client is kept, with its output for replay, before it is removed',
      default: String(DEFAULT_LIMITS.retainMs),
    },
    {
      flag: 'pty-idle',
      env: 'EXECD_PTY_IDLE_MS',
      description:
        'ms a running PTY session may have no client and produce no output before it is hung up and removed (0 = never)',
      default: String(DEFAULT_LIMITS.idleMs),
    },
    {
      flag: 'max-ptys',
      env: 'EXECD_MAX_PTYS',
      description: 'PTY sessions at most, running or not (0 = no limit); more are refused with 503',
      default: String(DEFAULT_LIMITS.max),
    },
  ],
  setup: ctx => {
    store = new PtyStore({
      retainMs: ctx.config.int('pty-retain', DEFAULT_LIMITS.retainMs),
      idleMs: ctx.config.int('pty-idle', DEFAULT_LIMITS.idleMs),
      max: ctx.config.int('max-ptys', DEFAULT_LIMITS.max),
    })
    store.startSweeper()
  },
  routes: () =>
    new Elysia({ name: 'api/pty', detail: { tags: ['pty'] } })
      .post('/pty', ({ body }) => json({ session_id: store.create(body ?? {}).id }, 201), {
        body: CreatePtyBody,
        response: { 201: CreatedPty, 400: ErrorBody, 503: ErrorBody },
        detail: { summary: 'Create a PTY session (the shell starts when a client connects)' },
      })
      .get(
        '/pty/:id',
        ({ params }) => {
          const s = store.get(params.id)
          return json({ session_id: s.id, running: s.running, output_offset: s.ring.total })
        },
        {
          params: SessionIdParams,
          response: { 200: PtyStatus, 404: ErrorBody },
          detail: { summary: 'PTY session status: running, and the total output offset' },
        },
      )
      .delete(
        '/pty/:id',
        async ({ params }) => {
          await store.delete(params.id)
          return emptyOk()
        },
        {
          params: SessionIdParams,
          response: { 404: ErrorBody },
          detail: { summary: "Kill the session's processes (every job of the terminal) and forget it" },
        },
      )
      .get(
        '/pty/:id/ws',
        ({ params, query, request, server }) => {
          const session = store.get(params.id)
          const takeover = query.takeover === '1'
          checkFree(session, takeover)
          if (!isUpgrade(request)) {
            // The reference never evicts for a plain GET; it answers as its WebSocket library would.
            if (takeover) checkFree(session, false)
            throw new ExecdError('INVALID_REQUEST_BODY', 'expected a WebSocket upgrade (GET with Upgrade: websocket)')
          }
          const conn = connection(session, {
            mode: query.pty === '0' ? 'pipe' : 'pty',
            since: Math.max(0, Number.parseInt(query.since ?? '0', 10) || 0),
          })
          conn.claim()
          if (!upgradeSocket(server as Parameters<typeof upgradeSocket>[0], request, conn.handlers)) {
            conn.abandon()
            throw new ExecdError('RUNTIME_ERROR', 'WebSocket upgrade failed')
          }
          conn.evictPrevious()
          // Bun has answered the handshake; no response of ours may follow.
          return undefined
        },
        {
          params: SessionIdParams,
          query: ConnectQuery,
          response: { 404: ErrorBody, 409: ErrorBody },
          detail: {
            summary:
              'Attach to the session over a WebSocket (binary frames 0x00 stdin, 0x01 stdout, 0x02 stderr, 0x03 replay; JSON control frames)',
          },
        },
      ),
  close: () => store.closeAll(),
}
