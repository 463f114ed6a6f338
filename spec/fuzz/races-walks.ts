/**
 * Races of the fourteenth passes' code, beside races-bounds.ts: searches and listings abandoned
 * mid-walk, after which execd holds no descriptor into the tree (and lives: a descriptor left to
 * the collector ended it, core/beneath/walk-fds.ts); a JavaScript cell closing fd 3 while other
 * requests target its context.
 */
import { existsSync, mkdirSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Violation } from './check'
import { after, json } from './races-kit'
import type { RaceCase, RaceName } from './races'
import { call, judgeContext } from './stream'
import type { World } from './world'

type Run = (c: RaceCase, w: World) => Promise<Violation[]>

/** execd's descriptors into `dir`. */
function fdsInto(pid: number, dir: string): number {
  let n = 0
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`))
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith(dir)) n++
      } catch {}
  } catch {}
  return n
}

let walkTree: string | undefined
const walksAborted: Run = async (c, w) => {
  // A tree of ~4000 entries, made once: a walk of it takes long enough to be left mid-way.
  const tree = join(w.layout.root, 'walk-tree')
  if (walkTree !== tree || !existsSync(join(tree, 'd39', 'sub', 'deeper'))) {
    for (let i = 0; i < 40; i++) {
      mkdirSync(join(tree, `d${i}`, 'sub', 'deeper'), { recursive: true })
      for (let j = 0; j < 30; j++) writeFileSync(join(tree, `d${i}`, j % 3 ? 'sub' : 'sub/deeper', `f${j}`), '')
    }
    walkTree = tree
  }
  const q = encodeURIComponent
  const paths = [
    `/files/search?path=${q(tree)}&pattern=${q('**/*x*x*x*x*y')}`,
    `/files/search?path=${q(tree)}&pattern=**`,
    `/directories/list?path=${q(tree)}&depth=6`,
  ]
  const out: Violation[] = []
  await Promise.all(
    Array.from({ length: 2 * c.n }, async (_, i) => {
      try {
        const res = await w.daemon.fetch(paths[i % paths.length]!, {
          signal: AbortSignal.timeout(1 + (c.delayMs % 40) * (i + 1)),
        })
        const r = await res.arrayBuffer()
        if (res.status >= 500)
          out.push({ kind: '5xx', detail: `a walk answered ${res.status}: ${Buffer.from(r).toString().slice(0, 120)}` })
      } catch {}
    }),
  )
  // Each abandoned walk stops at its next entry: its descriptors close long before its budget.
  const pid = w.daemon.proc.pid
  const deadline = Date.now() + 5000
  let open = fdsInto(pid, tree)
  while (open > 0 && Date.now() < deadline) {
    await Bun.sleep(100)
    open = fdsInto(pid, tree)
  }
  if (open > 0)
    out.push({ kind: 'contract', detail: `${open} descriptors into the tree 5 s after its walks were left` })
  return out
}

const jsFd3: Run = async (c, w) => {
  const since = w.clears
  const language = c.n % 2 ? 'javascript' : 'typescript'
  const made = await call(w, `POST /code/context {${language}}`, 'POST', '/code/context', { language }).done
  const id = json(made).id as string | undefined
  if (!id) return judgeContext(w, since, made, [200])
  const context = { id, language }
  const out: Violation[] = []
  try {
    const closing = call(w, 'POST /code (closeSync(3))', 'POST', '/code', {
      code:
        language === 'javascript'
          ? 'require("node:fs").closeSync(3)'
          : 'const fs: typeof import("node:fs") = require("node:fs"); fs.closeSync(3)',
      context,
    })
    await after(c.delayMs % 60)
    const others = [
      call(w, 'POST /code (1 + 1) beside it', 'POST', '/code', { code: '1 + 1', context }),
      ...(c.n > 2 ? [call(w, 'DELETE /code/contexts/{id} beside it', 'DELETE', `/code/contexts/${id}`)] : []),
      call(w, 'GET /code/contexts/{id} beside it', 'GET', `/code/contexts/${id}`),
    ]
    out.push(...judgeContext(w, since, await closing.done, [200, 404]))
    for (const o of others) out.push(...judgeContext(w, since, await o.done, [200, 404]))
    // The context goes on (a fresh interpreter), or was deleted: never a cell waiting for good.
    const after3 = await call(w, 'POST /code (2 + 2) after', 'POST', '/code', { code: '2 + 2', context }).done
    out.push(...judgeContext(w, since, after3, [200, 404]))
  } finally {
    await call(w, 'DELETE /code/contexts/{id}', 'DELETE', `/code/contexts/${id}`).done
  }
  return out
}

export const CONTEXT_AND_WALK_RACES: Partial<Record<RaceName, Run>> = {
  'walks-aborted-midway': walksAborted,
  'js-fd3-vs-requests': jsFd3,
}
