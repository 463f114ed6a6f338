/**
 * Racing sequences for what a 540 s campaign never reached (spec/fuzz/covered): an overlay
 * session's diff, its files routes and its commit racing runs, a second commit and a delete;
 * and many clients resuming one command's events (Last-Event-ID at the start, inside, at the
 * last event and past it) while it still writes.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Violation } from './check'
import { marker, orphans, staged } from './leftovers'
import { call, dataOf, judge, TERMINAL } from './stream'
import type { World } from './world'
import { after, all, json } from './races-kit'
import type { RaceCase, RaceName } from './races'

interface IdFrame {
  id: number
  type: string
  text?: string
}

/** An SSE answer with each event's id (stream.ts's frames drop it): what resuming is about. */
async function eventsWithIds(
  w: World,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; text: string; frames: IdFrame[]; cut: string }> {
  const res = await w.daemon.fetch(path, { headers, signal: AbortSignal.timeout(20_000) }).catch(e => e as Error)
  if (res instanceof Error) return { status: 0, text: '', frames: [], cut: String(res).slice(0, 120) }
  const text = await res.text().catch(e => `cut: ${e}`)
  if (!(res.headers.get('content-type') ?? '').includes('text/event-stream'))
    return { status: res.status, text, frames: [], cut: '' }
  const frames: IdFrame[] = []
  for (const block of text.split('\n\n')) {
    if (!block.trim()) continue
    const id = /^id: (\d+)$/m.exec(block)?.[1]
    const data = dataOf(block)
    try {
      frames.push({ id: Number(id ?? -1), ...JSON.parse(data) })
    } catch {
      frames.push({ id: Number(id ?? -1), type: `unparsed ${block.slice(0, 80)}` })
    }
  }
  return { status: res.status, text: '', frames, cut: text.startsWith('cut: ') ? text : '' }
}

export const REACH_RACES: Partial<Record<RaceName, (c: RaceCase, w: World) => Promise<Violation[]>>> = {
  /**
   * An overlay session changes its workspace (edits, a removal, a new tree, a link); its diff,
   * a download and an upload through its files routes, a second commit and (n = 4) a delete race
   * its commit. What a commit answered 200 for is on disk afterwards, the rest as before.
   */
  'isolated-overlay-commit': async (c, w) => {
    const ws = join(w.layout.root, `isoc-${marker()}`)
    mkdirSync(ws, { recursive: true })
    writeFileSync(join(ws, 'keep.txt'), 'old\n')
    writeFileSync(join(ws, 'gone.txt'), 'to be removed\n')
    const made = await call(w, 'POST /v1/isolated/session (overlay, commit race)', 'POST', '/v1/isolated/session', {
      workspace: { path: ws, mode: 'overlay' },
    }).done
    const id = json(made).session_id as string | undefined
    if (!id) return made.status === 503 ? [] : judge(made, [201])
    const path = `/v1/isolated/session/${id}`
    const m = marker()
    const out: Violation[] = []
    const wrote = await call(w, 'POST …/run (changes)', 'POST', `${path}/run`, {
      code: `echo new > keep.txt; rm gone.txt; mkdir -p d/e; head -c ${c.kib * 1024} /dev/zero | tr '\\0' z > d/e/big; printf 'a\\nb\\n' > t.txt; ln -s keep.txt link`,
    }).done
    out.push(...judge(wrote, [200]))
    await after(c.delayMs % 50)
    const file = encodeURIComponent(join(ws, 'd/e/big'))
    const form = new FormData()
    form.append('metadata', new Blob([JSON.stringify({ path: join(ws, 'up.txt') })]), 'metadata')
    form.append('file', new Blob(['uploaded\n']), 'up.txt')
    const racing = [
      call(w, 'POST …/commit', 'POST', `${path}/commit`),
      call(w, 'GET …/diff?patch=true (racing the commit)', 'GET', `${path}/diff?patch=true`),
      call(w, 'GET …/files/download (racing the commit)', 'GET', `${path}/files/download?path=${file}`),
      call(w, 'POST …/files/upload (racing the commit)', 'POST', `${path}/files/upload`, undefined, 20_000, {
        body: form,
      }),
      ...(c.n >= 3 ? [call(w, 'POST …/commit (a second)', 'POST', `${path}/commit`)] : []),
      ...(c.n === 4 ? [call(w, 'DELETE …/session (racing the commit)', 'DELETE', path)] : []),
    ]
    // A run sent after the commit waits for it (one begun before would have the commit refused):
    // it sleeps until the session goes, so it is awaited last.
    await after(c.delayMs % 7)
    const run = call(w, 'POST …/run (racing the commit)', 'POST', `${path}/run`, {
      code: `echo later > later.txt; sleep ${m} & wait`,
    })
    const [commit, diff, download, upload, ...rest] = await all(racing)
    out.push(...judge(commit!, [200, 400, 404]))
    out.push(...judge(diff!, [200, 404]))
    out.push(...judge(download!, [200, 404]))
    out.push(...judge(upload!, [200, 400, 404]))
    for (const r of rest) out.push(...judge(r, [200, 400, 404]))
    const commits = [commit!, ...rest.filter(r => r.label.startsWith('POST …/commit'))]
    if (download!.status === 200 && download!.text.length !== c.kib * 1024)
      out.push({
        kind: 'contract',
        detail: `download in the session: ${download!.text.length} bytes of ${c.kib * 1024}`,
      })
    if (commits.some(r => r.status === 200)) {
      const applied = commits.flatMap(r => (r.status === 200 ? ((json(r).applied ?? []) as { path: string }[]) : []))
      const keep = readFileSync(join(ws, 'keep.txt'), 'utf8')
      const paths = applied.map(a => a.path)
      if (keep !== 'new\n' || existsSync(join(ws, 'gone.txt')) || !paths.includes(join(ws, 'd/e/big')))
        out.push({
          kind: 'contract',
          detail: `commit answered 200 but the workspace has keep.txt ${JSON.stringify(keep)}, gone.txt ${existsSync(join(ws, 'gone.txt'))}; applied ${JSON.stringify(paths).slice(0, 300)}`,
        })
      else if (readFileSync(join(ws, 'd/e/big')).length !== c.kib * 1024)
        out.push({ kind: 'contract', detail: 'a committed file is not whole in the workspace' })
    } else if (readFileSync(join(ws, 'keep.txt'), 'utf8') !== 'old\n' || !existsSync(join(ws, 'gone.txt')))
      out.push({ kind: 'contract', detail: 'no commit answered 200, yet the workspace changed' })
    const del = await call(w, 'DELETE …/session (at the end)', 'DELETE', path).done
    out.push(...judge(del, [200, 404]))
    out.push(...judge(await run.done, [200, 400, 404]))
    out.push(...(await orphans('isolated session committed and deleted', m)))
    const left = staged(ws)
    if (left.length) out.push({ kind: 'stray-temp', detail: `an isolated commit race left ${left.join(', ')}` })
    return out
  },

  /**
   * One command writes lines over ~0.3 s; while it runs, and once it ended, n + 3 clients
   * resume its events from ids at the start, inside, at the last seen and past it. Each resumed
   * stream is the live stream from its id on (same ids, same texts, no gap, no repeat) and ends
   * in one terminal event; an id past what was sent is a 400 naming the last one.
   */
  'events-many-resumers': async (c, w) => {
    const out: Violation[] = []
    // Well inside the journal's bound (a few thousand events): nothing is dropped, all is replayed.
    const lines = 40 + c.n * 40 + (c.delayMs % 40)
    const live = call(w, 'POST /command (lines over time, resumed)', 'POST', '/command', {
      command: `for i in $(seq 1 ${lines}); do echo "line $i"; [ $((i % 25)) = 0 ] && sleep 0.03; done; exit 3`,
    })
    const init = await live.init
    const id = init?.text
    if (!id) return judge(await live.done, [200])
    const events = `/command/${encodeURIComponent(id)}/events`
    await after(c.delayMs % 150)
    const from = (lei: number | string, how: 'header' | 'query') =>
      how === 'header'
        ? eventsWithIds(w, events, lei === '' ? {} : { 'Last-Event-ID': String(lei) })
        : eventsWithIds(w, `${events}?after=${lei}`, {})
    const ask: [number | string, 'header' | 'query'][] = [
      ['', 'header'],
      [1, 'header'],
      [2, 'query'],
      [Math.floor(lines / 3), 'header'],
      [lines, 'query'],
      ...Array.from({ length: c.n }, (_, i): [number, 'header' | 'query'] => [
        1 + ((i * 37 + c.delayMs) % (lines + 6)),
        i % 2 ? 'header' : 'query',
      ]),
    ]
    const whileRunning = await Promise.all(ask.map(([lei, how]) => from(lei, how)))
    const whole = await eventsWithIds(w, events, {})
    out.push(...judge(await live.done, [200]))
    const afterEnd = await Promise.all(ask.map(([lei, how]) => from(lei, how)))
    const last = whole.frames.at(-1)?.id ?? 0
    if (whole.status !== 200 || whole.frames.filter(f => TERMINAL.has(f.type)).length !== 1)
      out.push({
        kind: 'stream',
        detail: `a replay of the whole command: ${whole.status}, ${whole.frames.length} frames ${whole.cut}`,
      })
    const check = (r: Awaited<ReturnType<typeof from>>, lei: number | string, how: string, when: string) => {
      const label = `resume of a command ${when} from ${how} ${JSON.stringify(lei)}`
      if (r.cut || r.status === 0) return out.push({ kind: 'stream', detail: `${label}: cut ${r.cut}` })
      const start = lei === '' ? 0 : Number(lei)
      if (r.status === 400) {
        // Only an id past what was sent by then may be refused; once the command ended, that is its last.
        if (when === 'after its end' && start <= last)
          out.push({ kind: 'contract', detail: `${label}: 400 ${r.text.slice(0, 160)} (last id ${last})` })
        if (!/"code"/.test(r.text)) out.push({ kind: 'error-shape', detail: `${label}: 400 ${r.text.slice(0, 160)}` })
        return
      }
      if (r.status !== 200)
        return out.push({ kind: 'contract', detail: `${label}: ${r.status} ${r.text.slice(0, 160)}` })
      const terminals = r.frames.filter(f => TERMINAL.has(f.type)).length
      if (terminals !== 1) out.push({ kind: 'stream', detail: `${label}: ${terminals} terminal events` })
      // Pings come every 3 s, live only: the rest is the whole replay's events after `start`.
      const got = r.frames.filter(f => f.type !== 'ping')
      if (got.some(f => f.type === 'status' && /drop/.test(JSON.stringify(f)))) return
      const want = whole.frames.filter(f => f.type !== 'ping' && f.id > start)
      const at = got.findIndex((f, k) => f.id !== want[k]?.id || f.type !== want[k]?.type || f.text !== want[k]?.text)
      if (at >= 0 || got.length !== want.length) {
        const f = got[at]
        const x = want[at]
        out.push({
          kind: 'contract',
          detail: `${label}: ${got.length} events, the stream had ${want.length} after it; ${at >= 0 ? `event ${f?.id} ${f?.type} ${JSON.stringify(f?.text)?.slice(0, 40)} where it had ${x?.id} ${x?.type} ${JSON.stringify(x?.text)?.slice(0, 40)}` : 'one ends early'}`,
        })
      }
    }
    ask.forEach(([lei, how], i) => {
      check(whileRunning[i]!, lei, how, 'while it ran')
      check(afterEnd[i]!, lei, how, 'after its end')
    })
    return out
  },
}
