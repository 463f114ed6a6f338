/** The driver's cell preparation, in process (the same Bun.Transpiler the child uses). */
import { afterEach, expect, test } from 'bun:test'
import { prepareCell } from './driver-cell'

const proto = Bun.Transpiler.prototype
const transformSync = proto.transformSync
let transforms = 0

function countTransforms(): void {
  transforms = 0
  proto.transformSync = function (this: InstanceType<typeof Bun.Transpiler>, ...args: unknown[]) {
    transforms++
    return (transformSync as (...a: unknown[]) => string).apply(this, args)
  } as typeof proto.transformSync
}

afterEach(() => {
  proto.transformSync = transformSync
})

test('a cell without a declaring word is parsed once (x + 1)', () => {
  countTransforms()
  const cell = prepareCell('x + 1', 'javascript', '/', 1)
  expect(cell.endsWithDeclaration).toBe(false)
  expect(transforms).toBe(1)
})

test('whether a cell ends with a declaration is still told apart', () => {
  const ends = (code: string, language: 'javascript' | 'typescript' = 'javascript') =>
    prepareCell(code, language, '/', 2).endsWithDeclaration
  expect(ends('let x = 1')).toBe(true)
  expect(ends('const f = () => 1\nf()')).toBe(false)
  expect(ends('x + 1 // let')).toBe(false)
  expect(ends('type A = number', 'typescript')).toBe(false)
})

test('a syntax error is thrown as Bun’s build message', () => {
  expect(() => prepareCell('x +', 'javascript', '/', 3)).toThrow()
})

test('a cell run again is the same script, not transformed again; one that imports is made each time', () => {
  const first = prepareCell('x * 3', 'javascript', '/', 4)
  countTransforms()
  const again = prepareCell('x * 3', 'javascript', '/', 5)
  expect(transforms).toBe(0)
  // The same text under the same name: JSC compiles it once.
  expect(again.script).toBe(first.script)
  expect(again.script).toEndWith('//# sourceURL=cell-4')
  const importing = 'const { sep } = await import("node:path"); sep'
  prepareCell(importing, 'javascript', '/', 6)
  countTransforms()
  prepareCell(importing, 'javascript', '/', 7)
  expect(transforms).toBeGreaterThan(0)
})
