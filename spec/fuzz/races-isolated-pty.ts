/**
 * The racing sequences of isolated sessions and terminals: an isolated session deleted during
 * its run, a terminal deleted while its WebSocket opens or is taken over (races.ts has the list).
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Violation } from './check'
import { marker, orphans, staged } from './leftovers'
import { call, judge } from './stream'
import type { World } from './world'
import { after, all, json } from './races-kit'
import type { RaceCase, RaceName } from './races'

export const ISOLATED_PTY_RACES: Partial<Record<RaceName, (c: RaceCase, w: World) => Promise<Violation[]>>> = {
  'isolated-delete-vs-run': async (c, w) => {
    const ws = join(w.layout.root, `iso-${marker()}`)
    mkdirSync(ws, { recursive: true })
    const made = await call(w, 'POST /v1/isolated/session (overlay)', 'POST', '/v1/isolated/session', {
      workspace: { path: ws, mode: c.n % 2 ? 'overlay' : 'rw' },
    }).done
    const id = json(made).session_id as string | undefined
    // No isolation on this machine (503) is no finding: the fuzz of the routes covers that answer.
    if (!id) return made.status === 503 ? [] : judge(made, [201])
    const m = marker()
    const path = `/v1/isolated/session/${id}`
    const run = call(w, 'POST …/run (echo; sleep)', 'POST', `${path}/run`, {
      code: `echo x > f; sleep 0.0${c.delayMs % 10}; echo y; sleep ${m}`,
    })
    await after(c.delayMs)
    const dels = Array.from({ length: c.n - 1 }, (_, i) =>
      call(w, `DELETE ${'/v1/isolated/session/{id}'} #${i + 1} racing its run`, 'DELETE', path),
    )
    const replies = await all(dels)
    const out = replies.flatMap(r => judge(r, [200, 404]))
    if (!replies.some(r => r.status === 200))
      out.push({ kind: 'contract', detail: 'no delete of the isolated session answered 200' })
    out.push(...judge(await run.done, [200, 404]))
    out.push(...(await orphans('isolated session deleted during its run', m)))
    const left = staged(ws)
    if (left.length)
      out.push({ kind: 'stray-temp', detail: `isolated session deleted during its run left ${left.join(', ')}` })
    return out
  },

  'pty-delete-vs-ws': async (c, w) => {
    const m = marker()
    const made = await call(w, 'POST /pty', 'POST', '/pty', { command: `sleep ${m}` }).done
    const id = json(made).session_id as string | undefined
    if (!id) return judge(made, [201])
    // One client, and half the time a second one taking it over (?takeover=1) while it opens.
    const sockets = [open(w, id, '')]
    if (c.n % 2) {
      await after(c.delayMs % 20)
      sockets.push(open(w, id, '?takeover=1'))
    }
    await after(c.delayMs)
    const dels = Array.from({ length: c.n - 1 }, (_, i) =>
      call(w, `DELETE /pty/{id} #${i + 1} racing its WebSocket`, 'DELETE', `/pty/${id}`),
    )
    const replies = await all(dels)
    const out = replies.flatMap(r => judge(r, [200, 404]))
    if (!replies.some(r => r.status === 200))
      out.push({ kind: 'contract', detail: 'no delete of the terminal answered 200' })
    const deadline = Date.now() + 10_000
    while (sockets.some(s => !s.closed) && Date.now() < deadline) await Bun.sleep(20)
    for (const [i, s] of sockets.entries()) {
      const which = i ? 'the taking-over WebSocket' : "the terminal's WebSocket"
      if (!s.closed) {
        out.push({
          kind: 'hang',
          detail: `${which} (${s.opened ? 'open' : 'opening'}) still open 10 s after its DELETE answered`,
        })
        s.ws.close()
      } else if (s.opened && ![1000, 4001].includes(s.closed.code))
        // An open socket ends with a close frame: the process's exit (1000) or a takeover (4001).
        out.push({
          kind: 'ws',
          detail: `${which} closed ${s.closed.code} ${s.closed.reason} when the terminal was deleted`,
        })
    }
    out.push(...(await orphans('terminal deleted during its WebSocket', m)))
    return out
  },
}

function open(w: World, id: string, query: string) {
  const url = `${w.daemon.url.replace('http', 'ws')}/pty/${id}/ws${query}`
  const ws = new WebSocket(url, { headers: { 'X-EXECD-ACCESS-TOKEN': w.daemon.token } } as unknown as string[])
  const s = { ws, opened: false, closed: null as { code: number; reason: string } | null }
  ws.onopen = () => {
    s.opened = true
    ws.send('{"type":"ping"}')
  }
  ws.onclose = e => void (s.closed = { code: e.code, reason: e.reason })
  ws.onerror = () => {}
  return s
}
