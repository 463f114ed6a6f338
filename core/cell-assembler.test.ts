import { expect, test } from 'bun:test'
import { CellAssembler } from './cell-assembler'
import type { CellQueue } from './cell-queue'
import { errorEvent } from './events'

const cells = () => new CellAssembler({ policy: 'drop', maxBytes: 8 << 20, notice: n => `${n} dropped\n` })

const drain = async (q: CellQueue) => {
  const out = []
  for await (const e of q) out.push([e.type, e.text ?? e.execution_count ?? e.results?.text ?? e.error?.ename])
  return out
}

test('a done cell ends with execution_count, then its value, then its error', async () => {
  const c = cells()
  const queue = c.begin()
  await c.output('stdout', 'hi')
  c.setResult({ 'text/plain': '1', text: '1' })
  c.setError({ ename: 'E', evalue: 'boom', traceback: [] })
  c.done()
  expect(await drain(queue)).toEqual([
    ['stdout', 'hi'],
    ['execution_count', 1],
    ['result', '1'],
    ['error', 'E'],
  ])
  expect(c.running).toBeUndefined()
})

test('execution_count increments per cell, and a value does not outlive its cell', async () => {
  const c = cells()
  const first = c.begin()
  c.setResult({ text: 'one' })
  c.done()
  await drain(first)
  const second = c.begin()
  c.done()
  expect(await drain(second)).toEqual([['execution_count', 2]])
})

test('output written just after done still lands in the cell, ahead of its end', async () => {
  const c = cells()
  const queue = c.begin()
  c.done()
  await c.output('stderr', 'late pipe write')
  expect((await drain(queue))[0]).toEqual(['stderr', 'late pipe write'])
})

test('output between cells waits for the next cell; the first words of a failed start stay readable', async () => {
  const c = cells()
  await c.output('stderr', '  no such module\n')
  expect(c.strayText).toBe('no such module')
  const queue = c.begin()
  c.done()
  expect((await drain(queue))[0]).toEqual(['stderr', '  no such module\n'])
  expect(c.strayText).toBe('')
})

test('output between cells is kept only up to its bound', async () => {
  const c = cells()
  await c.output('stdout', 'x'.repeat(64 << 10))
  await c.output('stdout', 'too much')
  expect(c.strayText).toBe('x'.repeat(64 << 10))
})

test('a second cell is refused while one runs', () => {
  const c = cells()
  c.begin()
  expect(() => c.begin()).toThrow('a cell is already running')
})

test('the death of the interpreter ends the running cell with the event that says how', async () => {
  const c = cells()
  const queue = c.begin()
  await c.output('stdout', 'last words')
  c.died(errorEvent('DeadKernelError', 'gone'))
  c.done()
  expect(await drain(queue)).toEqual([
    ['stdout', 'last words'],
    ['error', 'DeadKernelError'],
  ])
  c.died(errorEvent('DeadKernelError', 'twice'))
  expect(c.running).toBeUndefined()
})

test('a pipe feeds the running cell, decoding UTF-8 split between reads', async () => {
  const c = cells()
  const queue = c.begin()
  const bytes = new TextEncoder().encode('é!')
  const stream = new ReadableStream<Uint8Array>({
    start(ctl) {
      ctl.enqueue(bytes.slice(0, 1))
      ctl.enqueue(bytes.slice(1))
      ctl.close()
    },
  })
  await c.pipe(stream, 'stdout')
  c.done()
  expect((await drain(queue))[0]).toEqual(['stdout', 'é!'])
})
