/**
 * A javascript cell that writes on its driver's channel to execd (fd 4) itself. Through Bun's IPC
 * reader execd buffered such bytes until a newline came: 400 MB without one took execd to a peak
 * RSS of 512 MiB (479 MiB after the cell ended), any context at once. execd now reads the channel
 * itself with a bounded line: a longer one stops the interpreter, and a line that is not a
 * message is dropped.
 */
import { describe, expect, test } from 'bun:test'
import { runCli } from './harness'
import { daemonAlone } from './kit/daemon-dir'
import { createContext, ofType, resultText, runCode } from './runtime-kit'
import { cellWithin, expectInterpreterReplaced } from './kit/interpreter-replaced'

/** A cell's write of `bytes` on fd 4 in 64 KiB pieces, retried while the socket is full, then 42. */
const writeOnFd4 = (piece: string, pieces: number) => `
const fs = require('node:fs')
const b = Buffer.from(${piece})
for (let i = 0; i < ${pieces};) {
  try { fs.writeSync(4, b); i++ } catch (e) { if (e.code !== 'EAGAIN') throw e; await Bun.sleep(1) }
}
42`

/**
 * A cell's own `process.send` of the pieces of a large value's JSON (the driver's `bulk`), which
 * are not one JSON object: a line break and an event of execd's that no interpreter sent, then a
 * value cut short. Then one that is an object, the cell's own display, and 42.
 */
const forgedBulk = `
const forge = text => { process.send({ t: 'bulk', text }); process.send({ t: 'display', bulk: true }) }
forge('{"text/plain":"x"}\\n\\nid: 999\\ndata: {"type":"execution_complete","timestamp":1}\\n\\n')
forge('{"text/plain":')
forge('{"text/plain":"forged"}')
await Bun.sleep(100)
42`

describe('a javascript cell that writes on its driver’s channel (fd 4)', () => {
  const fx = daemonAlone()

  test('16 MiB without a newline: the interpreter is stopped with the reason; the next cell starts a fresh one', async () => {
    const id = await createContext(fx.d, 'javascript')
    const pid = Number(resultText(await runCode(fx.d, 'process.pid', { id }))[0])
    const events = await cellWithin(fx.d, id, writeOnFd4(`'x'.repeat(65536)`, 256))
    await expectInterpreterReplaced(fx.d, id, pid, events, 'longer than execd takes')
    const other = await createContext(fx.d, 'javascript')
    expect(resultText(await runCode(fx.d, '1 + 1', { id: other }))).toEqual(['2'])
    expect((await fx.d.fetch(`/code/contexts/${id}`, { method: 'DELETE' })).status).toBe(200)
  }, 60_000)

  test('lines that are not messages are dropped: the interpreter, its state and process.send go on', async () => {
    const id = await createContext(fx.d, 'javascript')
    const pid = Number(resultText(await runCode(fx.d, 'globalThis.kept = 7; process.pid', { id }))[0])
    const events = await cellWithin(fx.d, id, writeOnFd4(`'not json\\n{"t":\\n' + 'x'.repeat(1000) + '\\n'`, 64))
    expect(ofType(events, 'error')).toEqual([])
    expect(resultText(events)).toEqual(['42'])
    const next = await cellWithin(
      fx.d,
      id,
      `process.send({ t: 'stdout', text: 'sent' }); await Bun.sleep(100); [process.pid, kept].join()`,
    )
    expect(next[0]?.state_lost).toBeUndefined()
    expect(resultText(next)).toEqual([`'${pid},7'`])
    expect(
      ofType(next, 'stdout')
        .map(e => e.text)
        .join(''),
    ).toBe('sent')
    expect((await fx.d.fetch(`/code/contexts/${id}`, { method: 'DELETE' })).status).toBe(200)
  }, 60_000)

  test('a value’s pieces that are not one JSON object are dropped: the stream’s events and the CLI stay whole', async () => {
    const id = await createContext(fx.d, 'javascript')
    const events = await cellWithin(fx.d, id, forgedBulk)
    expect(ofType(events, 'execution_complete').map(e => e.timestamp === 1)).toEqual([false])
    expect(ofType(events, 'error')).toEqual([])
    // The object is the cell's own display (it may come after the cell's end, then it is not shown).
    expect(resultText(events).filter(t => t !== 'forged')).toEqual(['42'])
    // A one-shot run prints what the program writes, not its last value.
    const cli = await runCli(['exec', 'javascript', `${forgedBulk}\nconsole.log('after')`])
    expect(cli.stderr).toBe('')
    expect(cli.code).toBe(0)
    expect(cli.stdout).toEndWith('after\n')
    expect((await fx.d.fetch(`/code/contexts/${id}`, { method: 'DELETE' })).status).toBe(200)
  }, 60_000)
})
