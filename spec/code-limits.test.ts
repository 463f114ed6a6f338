/**
 * Code contexts are bounded through the executable (issue 10.9): at most --max-contexts per
 * language (503 naming the limit, default contexts included, freed by either DELETE), and a
 * context without an execution for --context-idle ms is closed with its interpreter. Uses the
 * bash runtime: a context is one live bash, cheap to start.
 */
import { describe, expect, test } from 'bun:test'
import { existsSync } from 'node:fs'
import { type Daemon, postJson, startDaemon, waitFor } from './harness'
import { follow } from './command-stream'
import { createContext, ofType, runCode, stdoutText } from './runtime-kit'

async function withDaemon(args: string[], body: (d: Daemon) => Promise<void>): Promise<void> {
  const d = await startDaemon({ args })
  try {
    await body(d)
  } finally {
    await d.stop()
  }
}

async function expectFull(res: Response, language: string, max: number): Promise<void> {
  expect(res.status).toBe(503)
  const body = await res.json()
  expect(body.code).toBe('SERVICE_UNAVAILABLE')
  expect(body.message).toContain(`at most ${max} ${language} contexts (--max-contexts)`)
}

/** The pid of a bash context's interpreter, as it reports it. */
async function interpreterPid(d: Daemon, id: string): Promise<number> {
  return Number(stdoutText(await runCode(d, 'echo $$', { id })).trim())
}

describe('code context limits', () => {
  test('past --max-contexts a language answers 503 naming the limit; other languages are not counted', () =>
    withDaemon(['--max-contexts', '2'], async d => {
      await createContext(d, 'bash')
      await createContext(d, 'bash')
      await expectFull(await postJson(d, '/code/context', { language: 'bash' }), 'bash', 2)
      expect((await postJson(d, '/code/context', { language: 'sql' })).status).toBe(200)
    }))

  test('the default context counts, and DELETE /code/contexts?language= gives every slot back', () =>
    withDaemon(['--max-contexts', '2'], async d => {
      expect(stdoutText(await runCode(d, 'echo from-default', { language: 'bash' }))).toBe('from-default\n')
      await createContext(d, 'bash')
      await expectFull(await postJson(d, '/code/context', { language: 'bash' }), 'bash', 2)
      expect((await d.fetch('/code/contexts?language=bash', { method: 'DELETE' })).status).toBe(200)
      await createContext(d, 'bash')
      expect(stdoutText(await runCode(d, 'echo default-again', { language: 'bash' }))).toBe('default-again\n')
      await expectFull(await postJson(d, '/code/context', { language: 'bash' }), 'bash', 2)
    }))

  test('a default context that cannot start for lack of room is a JSON 503, not a stream', () =>
    withDaemon(['--max-contexts', '1'], async d => {
      await createContext(d, 'bash')
      await expectFull(await postJson(d, '/code', { code: 'echo hi', context: { language: 'bash' } }), 'bash', 1)
    }))

  // Before: only "close one or raise the limit", to a caller that made no context of its own.
  test('that 503 says the created contexts hold the slots and that a run in one of them needs none', () =>
    withDaemon(['--max-contexts', '2'], async d => {
      const id = await createContext(d, 'bash')
      await createContext(d, 'bash')
      const res = await postJson(d, '/code', { code: 'echo hi', context: { language: 'bash' } })
      expect(res.status).toBe(503)
      const { message } = (await res.json()) as { message: string }
      expect(message).toContain('all taken by contexts created with POST /code/context')
      expect(message).toContain('the default bash context of a request without context.id cannot start')
      expect(message).toContain('run the code in one of them (context.id), delete one, or raise --max-contexts')
      // As it says: a run in one of them needs no slot.
      expect(stdoutText(await runCode(d, 'echo in-mine', { id }))).toBe('in-mine\n')
    }))

  test('DELETE /code/contexts/{id} gives its slot back', () =>
    withDaemon(['--max-contexts', '1'], async d => {
      const id = await createContext(d, 'bash')
      await expectFull(await postJson(d, '/code/context', { language: 'bash' }), 'bash', 1)
      expect((await d.fetch(`/code/contexts/${id}`, { method: 'DELETE' })).status).toBe(200)
      await createContext(d, 'bash')
    }))

  test('an idle context is closed after --context-idle: 404 CONTEXT_NOT_FOUND, its interpreter gone', () =>
    withDaemon(['--context-idle', '600'], async d => {
      const id = await createContext(d, 'bash')
      const pid = await interpreterPid(d, id)
      expect(existsSync(`/proc/${pid}`)).toBe(true)
      await waitFor('the expiry', async () => (await d.fetch(`/code/contexts/${id}`)).status === 404)
      const res = await postJson(d, '/code', { code: 'echo hi', context: { id } })
      expect(res.status).toBe(404)
      expect((await res.json()).code).toBe('CONTEXT_NOT_FOUND')
      await waitFor('the interpreter to go', () => !existsSync(`/proc/${pid}`))
    }))

  test('a context running a cell longer than --context-idle is not idle', () =>
    withDaemon(['--context-idle', '500'], async d => {
      const id = await createContext(d, 'bash')
      const events = await runCode(d, 'sleep 2; echo survived', { id })
      expect(stdoutText(events)).toBe('survived\n')
      expect(ofType(events, 'error')).toEqual([])
      expect((await d.fetch(`/code/contexts/${id}`)).status).toBe(200)
    }))
})

test('an inherited property name is no shell language: POST /code with language "constructor" is a 400', async () => {
  await withDaemon([], async d => {
    for (const language of ['constructor', '__proto__', 'toString']) {
      const res = await postJson(d, '/code', { code: 'echo ran', context: { language } })
      expect(res.status).toBe(400)
      expect((await res.json()).message).toContain(`unknown language '${language}'`)
    }
  })
})

test('a cell beyond --max-streams is refused with 503 before it runs', () =>
  withDaemon(['--max-streams', '1'], async d => {
    const id = await createContext(d, 'bash')
    const holding = await follow(await postJson(d, '/code', { code: 'sleep 2', context: { id } }))
    const other = await createContext(d, 'bash')
    const marker = `/tmp/execd-code-streams-${crypto.randomUUID()}`
    const refused = await postJson(d, '/code', { code: `touch ${marker}`, context: { id: other } })
    expect(refused.status).toBe(503)
    expect((await refused.json()).message).toContain('--max-streams')
    await holding.stream
    expect(existsSync(marker)).toBe(false)
    // The ended stream gave its slot back.
    expect(stdoutText(await runCode(d, 'echo ok', { id: other })).trim()).toBe('ok')
  }))
