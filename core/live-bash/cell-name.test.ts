import { expect, test } from 'bun:test'
import { CellName } from './cell-name'

const FILE = '/tmp/x/execd-bash-0123abcd.sh'
const text = (d: Uint8Array | undefined) => (d ? Buffer.from(d).toString() : '')

test('the code file named in an error is bash, wherever the pipe cut the stream', () => {
  const stream = `x${FILE}: line 1: foo: command not found\n${FILE}: line 3: \`if then'\nkept ${FILE}\n`
  const want = "xbash: line 1: foo: command not found\nbash: line 3: `if then'\nkept " + FILE + '\n'
  for (let cut = 0; cut <= stream.length; cut++) {
    const c = new CellName(FILE)
    const out =
      text(c.pass(Buffer.from(stream.slice(0, cut)), false)) + text(c.pass(Buffer.from(stream.slice(cut)), true))
    expect([cut, out]).toEqual([cut, want])
  }
})

test('output that cannot begin the name is handed on at once, as the same view', () => {
  const c = new CellName(FILE)
  const chunk = Buffer.from('progress 50%')
  expect(c.pass(chunk, false)).toBe(chunk)
  // A possible beginning is held until the next chunk or the run's end, then handed on as it was.
  expect(text(c.pass(Buffer.from('done /tmp/x/exe'), false))).toBe('done ')
  expect(text(c.pass(undefined, true))).toBe('/tmp/x/exe')
  expect(c.pass(undefined, true)).toBeUndefined()
})
