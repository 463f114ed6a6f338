/**
 * Java, Go, SQL and Jupyter contexts under hostile cells: code that exits or kills its interpreter, panics,
 * floods, writes bytes JSON cannot hold, spawns a process, reads stdin, runs forever or ignores
 * an interrupt, and jshell's own commands; each cell left to finish, interrupted mid-cell,
 * queued behind another, or cut off by deleting its context, and cells sent after the context
 * died. A java context costs ~1 s to start and a go cell ~0.4 s to compile: a case is a few
 * steps, and the campaign runs one such case at a time (campaign.ts).
 */
import fc from 'fast-check'
import type { Violation } from './check'
import { marker, orphans } from './leftovers'
import { call, judge, judgeContext } from './stream'
import type { World } from './world'
import { CELLS, type Language, QUICK } from './runtime-cells'

export type { Language } from './runtime-cells'

type Action = 'wait' | 'interrupt' | 'delete' | 'queue'
export interface Step {
  cell: number
  action: Action
  /** ms after the stream started that the interrupt or delete is sent. */
  afterMs: number
}
export interface RuntimeCase {
  kind: 'runtime'
  language: Language
  steps: Step[]
}

const step = (language: Language): fc.Arbitrary<Step> =>
  fc
    .record({
      cell: fc.nat(CELLS[language].length - 1),
      action: fc.constantFrom<Action>('wait', 'interrupt', 'delete', 'queue', 'wait', 'interrupt'),
      afterMs: fc.oneof(fc.constantFrom(0, 1, 50), fc.integer({ min: 0, max: 600 })),
    })
    .map(s =>
      CELLS[language][s.cell]!.endless && (s.action === 'wait' || s.action === 'queue')
        ? { ...s, action: 'interrupt' as const }
        : s,
    )

export const runtimeCase = (languages: Language[]): fc.Arbitrary<RuntimeCase> =>
  fc.constantFrom(...languages).chain(language =>
    fc.record({
      kind: fc.constant('runtime' as const),
      language: fc.constant(language),
      steps: fc.array(step(language), { minLength: 1, maxLength: 4 }),
    }),
  )

export function runtimeLabel(c: RuntimeCase): string {
  const steps = c.steps.map(
    s =>
      `${s.action}${s.action === 'interrupt' || s.action === 'delete' ? `@${s.afterMs}ms` : ''} ${JSON.stringify(CELLS[c.language][s.cell]!.code('97.m').slice(0, 60))}`,
  )
  return `${c.language} context: ${steps.join('; ')}`
}

/** A cell may run this long: a JVM restarted after an ignored interrupt (3 s grace) and then some. */
const CELL_MS = 45_000

export async function runRuntime(c: RuntimeCase, w: World): Promise<Violation[]> {
  const lang = c.language
  const out: Violation[] = []
  // A DELETE /code/contexts of another case (all of a language) may take this one away: read
  // before the create, since a clear sent while it is made may list the context once made.
  const since = w.clears
  const created = await call(
    w,
    `POST /code/context {"language":"${lang}"}`,
    'POST',
    '/code/context',
    { language: lang },
    CELL_MS,
  ).done
  out.push(...judge(created, [200]))
  let id: string | undefined
  try {
    id = JSON.parse(created.text).id
  } catch {}
  if (created.status !== 200 || !id) return out
  const context = { id, language: lang }
  const markers: string[] = []
  let alive = true
  try {
    for (const [i, s] of c.steps.entries()) {
      const cell = CELLS[lang][s.cell]!
      const m = marker()
      const code = cell.code(m)
      if (cell.spawns) markers.push(m)
      const was = alive ? '' : ' (its context deleted)'
      const label = `${lang} cell ${i + 1} ${s.action} ${JSON.stringify(code.slice(0, 70))}${was}`
      const run = call(w, label, 'POST', '/code', { code, context }, CELL_MS)
      const behind =
        s.action === 'queue'
          ? call(
              w,
              `${label}, and ${QUICK[lang]} queued behind it`,
              'POST',
              '/code',
              { code: QUICK[lang], context },
              CELL_MS,
            )
          : null
      let interrupted = false
      if (s.action === 'interrupt' || s.action === 'delete') {
        const headers = await run.headers
        await Bun.sleep(s.afterMs)
        if (s.action === 'interrupt') {
          const exec = headers?.get('execd-execution-id')
          if (exec) {
            const del = call(
              w,
              `DELETE /code?id= (interrupt of ${label})`,
              'DELETE',
              `/code?id=${exec}`,
              undefined,
              CELL_MS,
            )
            const stop = await del.done
            out.push(...judgeContext(w, since, stop, [200, 404]))
            interrupted = stop.status === 200
          }
        } else {
          const del = call(
            w,
            `DELETE /code/contexts/{id} (during ${label})`,
            'DELETE',
            `/code/contexts/${id}`,
            undefined,
            CELL_MS,
          )
          out.push(...judgeContext(w, since, await del.done, alive ? [200] : [404]))
          alive = false
        }
      }
      const reply = await run.done
      out.push(...judgeContext(w, since, reply, cell.refused ? [400] : was ? [404] : [200]))
      // A cell that never ends by itself and whose interrupt answered 200 has stopped: the
      // interrupt's answer waits for that, and the stream says so with an error.
      if (cell.endless && interrupted && reply.status === 200 && !reply.frames.some(f => f.type === 'error'))
        out.push({
          kind: 'contract',
          detail: `${label}: the interrupt answered 200 and the cell ended without an error`,
        })
      if (behind) out.push(...judgeContext(w, since, await behind.done, was ? [404] : [200, 404]))
      if (out.length) break
    }
  } finally {
    if (alive) {
      const del = await call(
        w,
        `DELETE /code/contexts/{id} (${lang}, at the end)`,
        'DELETE',
        `/code/contexts/${id}`,
        undefined,
        CELL_MS,
      ).done
      out.push(...judgeContext(w, since, del, [200]))
    }
  }
  for (const m of markers) out.push(...(await orphans(`${lang} context deleted`, m)))
  return out
}
