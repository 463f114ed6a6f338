import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { RuntimeContext } from '../../core/plugin'
import { removeTempFiles, resultOf, runCell, startJs } from './test-context'

afterAll(removeTempFiles)

describe('rich results', () => {
  let ctx: RuntimeContext
  beforeAll(async () => {
    ctx = await startJs('javascript')
  })
  afterAll(() => ctx.close())

  test('an element built with the DOM is text/html', async () => {
    const events = await runCell(
      ctx,
      'const ul = document.createElement("ul")\nfor (const n of [1, 2]) { const li = document.createElement("li"); li.textContent = String(n); ul.append(li) }\nul',
    )
    expect(resultOf(events)?.['text/html']).toBe('<ul><li>1</li><li>2</li></ul>')
  })

  test('an svg element is a standalone image/svg+xml', async () => {
    const code =
      'const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg")\nsvg.setAttribute("width", "10")\nsvg'
    const svg = resultOf(await runCell(ctx, code))?.['image/svg+xml']
    expect(svg).toBe('<svg xmlns="http://www.w3.org/2000/svg" width="10"></svg>')
  })

  test('an HTML string is text/html besides its quoted text', async () => {
    const results = resultOf(await runCell(ctx, '"<b>bold</b>"'))
    expect(results).toMatchObject({ 'text/html': '<b>bold</b>', 'text/plain': "'<b>bold</b>'" })
  })

  test('an object with _repr_html_ renders through it', async () => {
    const results = resultOf(
      await runCell(ctx, '({ _repr_html_() { return "<table></table>" }, toString() { return "T" } })'),
    )
    expect(results?.['text/html']).toBe('<table></table>')
    expect(results?.text).toBe(results?.['text/plain'])
  })

  test('display() sends each value and MIME bundle as a result while the cell runs', async () => {
    const events = await runCell(
      ctx,
      'display({ "text/html": "<p>1</p>" }, [1, 2]); display.markdown("# t"); console.log("after"); 3',
    )
    expect(events.map(e => e.type)).toEqual(['result', 'result', 'result', 'stdout', 'execution_count', 'result'])
    expect(events[0]?.results).toEqual({ 'text/html': '<p>1</p>' })
    expect(events[1]?.results?.['text/plain']).toBe('[ 1, 2 ]')
    expect(events[2]?.results).toEqual({ 'text/markdown': '# t' })
  })

  test('only document is global, so typeof window still says no browser', async () => {
    const results = resultOf(
      await runCell(
        ctx,
        '[typeof document.createElement, typeof window, document.defaultView === document.defaultView.window]',
      ),
    )
    expect(results?.['text/plain']).toBe("[ 'function', 'undefined', true ]")
  })

  test('PNG bytes are a base64 image/png', async () => {
    const png = resultOf(await runCell(ctx, 'new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])'))?.[
      'image/png'
    ]
    expect(png).toBe(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).toString('base64'))
  })
})
