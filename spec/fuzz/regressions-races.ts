/** The racing sequences' findings as regression cases of the fuzz suite. */
import type { Finding } from './campaign'
import { call, judge } from './stream'
import type { World } from './world'

/**
 * Campaign seed 852301: an interrupt that came while a context replaced its dead interpreter
 * answered 200 and the cell then ran to its end. Python here (the world keeps no spare: the
 * replacement starts when the cell asks for it); java and go contexts take the same path.
 */
export async function interruptDuringRestart(w: World): Promise<Finding[]> {
  const op = 'DELETE /code'
  const made = await call(w, 'POST /code/context {python}', 'POST', '/code/context', { language: 'python' }).done
  const id = (() => {
    try {
      return JSON.parse(made.text).id as string
    } catch {
      return undefined
    }
  })()
  const out: Finding[] = []
  const example = 'os._exit(1), then a cell interrupted as its stream opens'
  const add = (kind: Finding['kind'], detail: string) => out.push({ kind, op, detail, example })
  if (!id) {
    for (const v of judge(made, [200])) add(v.kind, v.detail)
    return out
  }
  const context = { id, language: 'python' }
  try {
    for (let round = 0; round < 2; round++) {
      await call(w, 'POST /code (os._exit)', 'POST', '/code', { code: 'import os; os._exit(1)', context }).done
      const run = call(w, 'POST /code (sleep 3, print)', 'POST', '/code', {
        code: 'import time; time.sleep(3); print("ran")',
        context,
      })
      const exec = (await run.headers)?.get('execd-execution-id')
      const stop = await call(w, 'DELETE /code?id= during the restart', 'DELETE', `/code?id=${exec}`).done
      const cell = await run.done
      for (const v of [...judge(stop, [200]), ...judge(cell, [200])]) add(v.kind, v.detail)
      if (cell.frames.some(f => f.type === 'stdout' && String(f.text).includes('ran')))
        add('contract', `round ${round + 1}: the interrupt answered ${stop.status} and the cell ran to its end`)
    }
  } finally {
    await call(w, 'DELETE /code/contexts/{id}', 'DELETE', `/code/contexts/${id}`).done
  }
  return out
}
