/** The python runtime an app opened ends with the app: its spare interpreter goes when the app closes. */
import { expect, test } from 'bun:test'
import { openSections } from '../../core/app'
import { optionSpecs, resolveConfig } from '../../core/config'
import { createLogger } from '../../core/log'
import { pidsUnder } from '../../spec/kit/own-pids'
import { python } from '.'
import { OPTIONS } from './options'
import { available, PYTHON } from './test-context'

test.skipIf(!available)(
  "closing the app ends its python runtime's spare interpreter, and no spare starts after",
  async () => {
    const log = createLogger('silent')
    const config = resolveConfig(optionSpecs(OPTIONS), { python: PYTHON }, {})
    const sections = await openSections({ plugins: [], runtimes: [python], config, log })
    const runtime = sections.ctx.runtimes[0]!
    const start = { language: 'python', cwd: process.cwd(), env: process.env as Record<string, string>, config, log }
    const context = await runtime.start(start)
    // The spare starts a moment after the context: until both interpreters run.
    while (pidsUnder(PYTHON, process.pid).length < 2) await Bun.sleep(50)
    await context.close()
    expect(pidsUnder(PYTHON, process.pid)).toHaveLength(1)
    // A second start takes the spare and asks for the next one, which must not come once closed.
    const second = await runtime.start(start)
    await sections.close()
    await second.close()
    await Bun.sleep(400)
    expect(pidsUnder(PYTHON, process.pid)).toEqual([])
  },
  60_000,
)
