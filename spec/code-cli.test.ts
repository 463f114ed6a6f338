/** `execd exec <language>`: the same runtime as /code, without HTTP, through dist/execd. */
import { describe, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCliSync, type CliOptions } from './harness'
import { hasModule, pythonAvailable } from './python-env'

const execd = (args: string[], opts: CliOptions = {}) => runCliSync(['exec', ...args], opts)

const matplotlib = hasModule('matplotlib')

describe.skipIf(pythonAvailable !== true)('execd exec python', () => {
  test('prints output and the text result, exit 0', () => {
    const r = execd(['python', 'x = 41\nprint("hello")\nx + 1'])
    expect(r).toMatchObject({ code: 0, stdout: 'hello\n42\n' })
  })

  test('an error prints its traceback on stderr and exits 1', () => {
    const r = execd(['python', 'def f():\n    raise ValueError("nope")\nf()'])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('ValueError: nope')
    expect(r.stderr).toContain('raise ValueError("nope")')
  })

  test('reads the code from stdin with - and from a file with -f', () => {
    expect(execd(['python', '-'], { stdin: 'print(6 * 7)' }).stdout).toBe('42\n')
    const dir = mkdtempSync(join(tmpdir(), 'execd-cli-'))
    try {
      writeFileSync(join(dir, 'cell.py'), 'print("from file")')
      expect(execd(['python', '-f', join(dir, 'cell.py')]).stdout).toBe('from file\n')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('--json prints the event stream as JSON lines', () => {
    const r = execd(['python', '--json', 'print(1)\n2'])
    const events = r.stdout
      .trim()
      .split('\n')
      .map(l => JSON.parse(l))
    expect(events.map(e => e.type)).toEqual([
      'init',
      'ping',
      'stdout',
      'execution_count',
      'result',
      'execution_complete',
    ])
    expect(events[4].results.text).toBe('2')
  })

  test('no language is a usage error (exit 2); an unknown one names the available ones (exit 1)', () => {
    expect(execd([]).code).toBe(2)
    const r = execd(['cobol', '1'])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('python')
  })

  test('--list shows python and whether it is available', () => {
    const r = execd(['--list', '--json'])
    const languages = r.stdout
      .trim()
      .split('\n')
      .map(l => JSON.parse(l))
    expect(languages.find(l => l.language === 'python')).toMatchObject({ available: true })
  })

  test.skipIf(matplotlib !== true)(
    `images are written to files and their paths printed${matplotlib === true ? '' : ` (skipped: ${matplotlib})`}`,
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'execd-cli-'))
      try {
        const r = execd(['python', 'import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.show()'], { cwd: dir })
        expect(r.code).toBe(0)
        const path = r.stdout.match(/written to (\S+)\]/)?.[1]
        expect(path && existsSync(path)).toBe(true)
        expect(readFileSync(path!).subarray(1, 4).toString()).toBe('PNG')
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    },
    30_000,
  )
})
