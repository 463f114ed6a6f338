/**
 * The racing sequences of processes: contexts, commands, sessions and cells deleted, interrupted
 * or started several at once (races.ts has the list and the cases; races-isolated-pty.ts the
 * isolated sessions' and terminals').
 */
import { join } from 'node:path'
import type { Violation } from './check'
import { marker, orphans } from './leftovers'
import { call, clearedSince, clearing, judge, judgeContext } from './stream'
import type { World } from './world'
import { after, all, json, LIMIT_MS } from './races-kit'
import type { RaceCase, RaceName } from './races'

type Run = (c: RaceCase, w: World) => Promise<Violation[]>

export const PROCESS_RACES: Partial<Record<RaceName, Run>> = {
  'context-delete-twice': async (c, w) => {
    const since = w.clears
    const made = await call(w, 'POST /code/context {bash}', 'POST', '/code/context', { language: 'bash' }).done
    const id = json(made).id as string | undefined
    if (!id) return judgeContext(w, since, made, [200])
    const m = marker()
    // Half the time a cell is running in it.
    const cell =
      c.n % 2
        ? call(w, 'POST /code (bash cell)', 'POST', '/code', { code: `sleep ${m}`, context: { id, language: 'bash' } })
        : null
    if (cell) await cell.headers
    const dels = Array.from({ length: c.n }, (_, i) =>
      call(w, `DELETE /code/contexts/{id} #${i + 1} of ${c.n}`, 'DELETE', `/code/contexts/${id}`),
    )
    const replies = await all(dels)
    const out = replies.flatMap(r => judgeContext(w, since, r, [200, 404]))
    if (!clearedSince(w, since) && !replies.some(r => r.status === 200))
      out.push({ kind: 'contract', detail: `${c.n} deletes of one context: none answered 200` })
    if (cell) out.push(...judgeContext(w, since, await cell.done, [200]))
    out.push(...(await orphans('context deleted twice', m)))
    return out
  },

  'command-delete-twice': async (c, w) => {
    const m = marker()
    const started = call(w, 'POST /command background', 'POST', '/command', { command: `sleep ${m}`, background: true })
    const init = await started.init
    const out = judge(await started.done, [200])
    const id = init?.text
    if (!id) return out
    await after(c.delayMs)
    const replies = await all(
      Array.from({ length: c.n }, (_, i) =>
        call(w, `DELETE /command?id= #${i + 1} of ${c.n}`, 'DELETE', `/command?id=${id}`),
      ),
    )
    out.push(...replies.flatMap(r => judge(r, [200, 404])))
    const status = await call(w, 'GET /command/status/{id} after the deletes', 'GET', `/command/status/${id}`).done
    out.push(...judge(status, [200, 404]))
    if (status.status === 200 && json(status).running === true)
      out.push({
        kind: 'contract',
        detail: `after ${c.n} deletes answered, the command still runs: ${status.text.slice(0, 160)}`,
      })
    out.push(...(await orphans('command deleted twice', m)))
    return out
  },

  'session-delete-twice': async (c, w) => {
    const made = await call(w, 'POST /session', 'POST', '/session', {}).done
    const id = json(made).session_id as string | undefined
    if (!id) return judge(made, [200])
    const m = marker()
    const run = call(w, 'POST /session/{id}/run (sleep)', 'POST', `/session/${id}/run`, { command: `sleep ${m}` })
    await run.init
    await after(c.delayMs)
    const replies = await all(
      Array.from({ length: c.n }, (_, i) =>
        call(w, `DELETE /session/{id} #${i + 1} of ${c.n}`, 'DELETE', `/session/${id}`),
      ),
    )
    const out = replies.flatMap(r => judge(r, [200, 404]))
    if (!replies.some(r => r.status === 200))
      out.push({ kind: 'contract', detail: `${c.n} deletes of one session: none answered 200` })
    out.push(...judge(await run.done, [200]))
    const again = await call(w, 'POST /session/{id}/run after the deletes', 'POST', `/session/${id}/run`, {
      command: 'true',
    }).done
    out.push(...judge(again, [404]))
    out.push(...(await orphans('session deleted twice', m)))
    return out
  },

  'command-interrupt-vs-end': async (c, w) => {
    // A foreground command that ends by itself about when the interrupt comes.
    const run = call(w, 'POST /command (sleep 0.1)', 'POST', '/command', { command: 'sleep 0.1' })
    const id = (await run.init)?.text
    const out: Violation[] = []
    if (id) {
      await after(70 + c.delayMs / 4)
      const dels = Array.from({ length: c.n - 1 }, (_, i) =>
        call(w, `DELETE /command?id= #${i + 1} racing its end`, 'DELETE', `/command?id=${id}`),
      )
      out.push(...(await all(dels)).flatMap(r => judge(r, [200, 404])))
    }
    out.push(...judge(await run.done, [200]))
    return out
  },

  'cell-interrupt-vs-end': async (c, w) => {
    const since = w.clears
    const made = await call(w, 'POST /code/context {bash}', 'POST', '/code/context', { language: 'bash' }).done
    const id = json(made).id as string | undefined
    if (!id) return judgeContext(w, since, made, [200])
    const out: Violation[] = []
    try {
      const run = call(w, 'POST /code (bash: sleep 0.1)', 'POST', '/code', {
        code: 'sleep 0.1; echo done',
        context: { id, language: 'bash' },
      })
      const exec = (await run.headers)?.get('execd-execution-id')
      if (exec) {
        await after(70 + c.delayMs / 4)
        const dels = Array.from({ length: c.n - 1 }, (_, i) =>
          call(w, `DELETE /code?id= #${i + 1} racing the cell's end`, 'DELETE', `/code?id=${exec}`),
        )
        out.push(...(await all(dels)).flatMap(r => judgeContext(w, since, r, [200, 404])))
      }
      out.push(...judgeContext(w, since, await run.done, [200]))
      // The context survives an interrupt with its state: the next cell runs.
      const next = await call(w, 'POST /code (bash: the next cell)', 'POST', '/code', {
        code: 'echo next',
        context: { id, language: 'bash' },
      }).done
      out.push(...judgeContext(w, since, next, [200]))
      if (next.status === 200 && !next.frames.some(f => f.type === 'stdout' && f.text === 'next\n'))
        out.push({
          kind: 'contract',
          detail: `the cell after an interrupt: ${next.frames
            .map(f => `${f.type}:${f.text ?? ''}`)
            .join(',')
            .slice(0, 200)}`,
        })
    } finally {
      out.push(...(await deleteContext(w, since, id)))
    }
    return out
  },

  'context-delete-vs-cell': async (c, w) => {
    const since = w.clears
    const language = c.n % 2 ? 'bash' : 'python'
    const made = await call(w, `POST /code/context {${language}}`, 'POST', '/code/context', { language }).done
    const id = json(made).id as string | undefined
    if (!id) return judgeContext(w, since, made, [200])
    const m = marker()
    // Half the time the child leaves the context's process group (setsid): it must go all the same.
    const argv = c.delayMs % 2 ? `"setsid", "sleep"` : `"sleep"`
    const code =
      language === 'bash'
        ? `${c.delayMs % 2 ? 'setsid ' : ''}sleep ${m}`
        : `import subprocess; subprocess.run([${argv}, "${m}"])`
    const run = call(w, `POST /code (${language}: ${code})`, 'POST', '/code', { code, context: { id, language } })
    await run.headers
    await after(c.delayMs)
    const del = await call(w, 'DELETE /code/contexts/{id} during the cell', 'DELETE', `/code/contexts/${id}`).done
    const out = [...judgeContext(w, since, del, [200]), ...judgeContext(w, since, await run.done, [200])]
    const later = await call(w, 'POST /code on the deleted context', 'POST', '/code', {
      code: 'true',
      context: { id, language },
    }).done
    out.push(...judgeContext(w, since, later, [404]))
    out.push(...(await orphans(`${language} context deleted during a cell`, m)))
    return out
  },

  'session-delete-vs-run': async (c, w) => {
    const made = await call(w, 'POST /session', 'POST', '/session', {}).done
    const id = json(made).session_id as string | undefined
    if (!id) return judge(made, [200])
    const m = marker()
    const run = call(w, 'POST /session/{id}/run (sleep; echo)', 'POST', `/session/${id}/run`, {
      command: `sleep 0.${c.delayMs % 3}; echo x; sleep ${m}`,
    })
    await after(c.delayMs)
    const del = await call(w, 'DELETE /session/{id} racing its run', 'DELETE', `/session/${id}`).done
    const out = [...judge(del, [200]), ...judge(await run.done, [200, 404])]
    out.push(...(await orphans('session deleted during its run', m)))
    return out
  },

  'default-context-at-once': async (c, w) => {
    let since = w.clears
    // No id: the language's default context, made on first use — by one of them only.
    const language = (['bash', 'python', 'javascript', 'sql'] as const)[c.n % 4]
    const code = language === 'sql' ? 'select 1' : language === 'bash' ? 'true' : '1'
    const cleared = await clearing(
      w,
      () => call(w, `DELETE /code/contexts?language=${language}`, 'DELETE', `/code/contexts?language=${language}`).done,
    )
    const out = judgeContext(w, since, cleared, [200, 404])
    since = w.clears
    const cells = Array.from({ length: c.n + 1 }, (_, i) =>
      call(w, `POST /code {language:${language}} #${i + 1} at once`, 'POST', '/code', { code, context: { language } }),
    )
    out.push(...(await all(cells)).flatMap(r => judgeContext(w, since, r, [200])))
    const list = await call(w, `GET /code/contexts?language=${language}`, 'GET', `/code/contexts?language=${language}`)
      .done
    out.push(...judgeContext(w, since, list, [200]))
    const n = (() => {
      try {
        return (JSON.parse(list.text) as unknown[]).length
      } catch {
        return -1
      }
    })()
    // Other lanes may make contexts of the language too; more than the cells' one plus theirs is
    // read only from a quiet run (FUZZ_LANES=1).
    if (n === 0 && !clearedSince(w, since))
      out.push({ kind: 'contract', detail: `${c.n + 1} cells without an id ran, and no ${language} context is listed` })
    return out
  },

  'cells-at-once': async (c, w) => {
    const since = w.clears
    const language = c.n % 2 ? 'bash' : 'python'
    const made = await call(w, `POST /code/context {${language}}`, 'POST', '/code/context', { language }).done
    const id = json(made).id as string | undefined
    if (!id) return judgeContext(w, since, made, [200])
    const lock = join(w.layout.root, `lock${marker()}`)
    // One execution at a time per context: a cell that finds the lock taken ran beside another.
    const code =
      language === 'bash'
        ? `mkdir '${lock}' 2>/dev/null || echo OVERLAP; sleep 0.05; rmdir '${lock}'`
        : `import os, time\ntry:\n    os.mkdir(${JSON.stringify(lock)})\nexcept FileExistsError:\n    print("OVERLAP")\ntime.sleep(0.05)\nos.rmdir(${JSON.stringify(lock)})`
    const cells = Array.from({ length: c.n + 1 }, (_, i) =>
      call(w, `POST /code (${language}) #${i + 1} on one context at once`, 'POST', '/code', {
        code,
        context: { id, language },
      }),
    )
    const replies = await all(cells)
    const out = replies.flatMap(r => judgeContext(w, since, r, [200]))
    if (replies.some(r => r.frames.some(f => f.type === 'stdout' && String(f.text).includes('OVERLAP'))))
      out.push({ kind: 'contract', detail: `two of ${c.n + 1} ${language} cells of one context ran at once` })
    out.push(...(await deleteContext(w, since, id)))
    return out
  },

  'session-runs-at-once': async (c, w) => {
    const made = await call(w, 'POST /session', 'POST', '/session', {}).done
    const id = json(made).session_id as string | undefined
    if (!id) return judge(made, [200])
    const lock = join(w.layout.root, `lock${marker()}`)
    const runs = Array.from({ length: c.n + 1 }, (_, i) =>
      call(w, `POST /session/{id}/run #${i + 1} at once`, 'POST', `/session/${id}/run`, {
        command: `mkdir '${lock}' 2>/dev/null || echo OVERLAP; sleep 0.05; rmdir '${lock}'; X=$((X+1))`,
      }),
    )
    const replies = await all(runs)
    // A session is one bash: a second run waits (or is refused), never runs beside the first.
    const out = replies.flatMap(r => judge(r, [200, 409]))
    if (replies.some(r => r.frames.some(f => f.type === 'stdout' && String(f.text).includes('OVERLAP'))))
      out.push({ kind: 'contract', detail: `two of ${c.n + 1} runs of one session ran at once` })
    out.push(...judge(await call(w, 'DELETE /session/{id}', 'DELETE', `/session/${id}`).done, [200]))
    return out
  },

  'command-watch-vs-delete': async (c, w) => {
    const m = marker()
    const started = call(w, 'POST /command background (output, sleep)', 'POST', '/command', {
      command: `for i in 1 2 3 4 5; do echo line$i; done; sleep ${m}`,
      background: true,
    })
    const id = (await started.init)?.text
    const out = judge(await started.done, [200])
    if (!id) return out
    await after(c.delayMs % 50)
    const watch = call(
      w,
      'GET /command/{id}/events racing its delete',
      'GET',
      `/command/${id}/events`,
      undefined,
      LIMIT_MS,
      {
        headers: { 'last-event-id': String(c.n - 2) },
      },
    )
    const logs = call(w, 'GET /command/{id}/logs racing its delete', 'GET', `/command/${id}/logs?cursor=0`)
    const del = call(w, 'DELETE /command?id= racing its watchers', 'DELETE', `/command?id=${id}`)
    const [wr, lr, dr] = await all([watch, logs, del])
    out.push(...judge(wr!, [200, 404]), ...judge(lr!, [200, 404]), ...judge(dr!, [200, 404]))
    out.push(...(await orphans('command deleted while watched', m)))
    return out
  },

  'contexts-delete-all-vs-create': async (c, w) => {
    // Its cell and delete take a 404 (the clear came after the create): nothing to excuse.
    const made = call(w, 'POST /code/context {javascript} racing DELETE ?language=', 'POST', '/code/context', {
      language: 'javascript',
    })
    await after(c.delayMs % 20)
    const clear = clearing(
      w,
      () =>
        call(
          w,
          'DELETE /code/contexts?language=javascript racing a create',
          'DELETE',
          '/code/contexts?language=javascript',
        ).done,
    )
    const [m, d] = await Promise.all([made.done, clear])
    const out = [...judge(m!, [200]), ...judge(d!, [200, 404])]
    const id = json(m!).id as string | undefined
    if (id) {
      const cell = await call(w, 'POST /code on the context made during the clear', 'POST', '/code', {
        code: '1',
        context: { id, language: 'javascript' },
      }).done
      out.push(...judge(cell, [200, 404]))
      out.push(...judge(await call(w, 'DELETE /code/contexts/{id}', 'DELETE', `/code/contexts/${id}`).done, [200, 404]))
    }
    return out
  },
}

/** The race's context deleted at its end, judged as its other context requests are. */
async function deleteContext(w: World, since: number, id: string): Promise<Violation[]> {
  return judgeContext(
    w,
    since,
    await call(w, 'DELETE /code/contexts/{id}', 'DELETE', `/code/contexts/${id}`).done,
    [200],
  )
}
