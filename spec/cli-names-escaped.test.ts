/**
 * The CLI prints names it did not choose (file names a program wrote, a remote daemon's error
 * messages) without terminal control: found by the fifth attacker's pass, each test fails on the
 * executable before its fix. No timing: outputs are read to their end, bytes and lines counted.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCli, runCliSync } from './harness'

let scratch: string
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'execd-spec-names-escaped-'))
})
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

/** Any byte a terminal acts on rather than shows: C0 (but the line's own \n), DEL, C1 in UTF-8. */
const TERMINAL_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/

describe('the CLI prints names it did not choose without terminal control', () => {
  // A file named with ESC sequences recoloured, retitled or cleared the terminal of whoever
  // listed it (`execd fs ls` of a workspace a program wrote), and a newline in a name forged a
  // row of the listing or a second error line: the names were printed raw.
  const evil = 'evil\x1b]0;pwned\x07\x1b[2J\x1b[31mred\nforged-row'
  let dir: string
  beforeAll(() => {
    dir = join(scratch, 'names')
    mkdirSync(dir)
    writeFileSync(join(dir, evil), 'x')
    writeFileSync(join(dir, 'plain'), 'y')
  })

  test('fs ls: one row per entry, no control character, the name escaped', () => {
    const r = runCliSync(['fs', 'ls', dir])
    expect(r.code).toBe(0)
    expect(r.stdout).not.toMatch(TERMINAL_CONTROL)
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(2)
    expect(r.stdout).toContain('evil\\e]0;pwned\\x07\\e[2J\\e[31mred\\nforged-row')
  })

  test('fs stat, fs search and fs rm -v: the same', () => {
    const stat = runCliSync(['fs', 'stat', join(dir, evil)])
    expect(stat.code).toBe(0)
    expect(stat.stdout).not.toMatch(TERMINAL_CONTROL)
    expect(stat.stdout).toContain('\\nforged-row')
    const search = runCliSync(['fs', 'search', dir, 'evil*'])
    expect(search.code).toBe(0)
    expect(search.stdout).not.toMatch(TERMINAL_CONTROL)
    expect(search.stdout.trimEnd().split('\n')).toHaveLength(1)
    const copy = join(dir, `${evil}-copy`)
    writeFileSync(copy, 'z')
    const rm = runCliSync(['fs', 'rm', '-v', copy])
    expect(rm.code).toBe(0)
    expect(rm.stdout).not.toMatch(TERMINAL_CONTROL)
    expect(rm.stdout.trimEnd().split('\n')).toHaveLength(1)
  })

  test('an error naming such a path is one line on stderr, the whole of it escaped', () => {
    const r = runCliSync(['fs', 'cat', join(dir, 'missing\x1b[2J\nexecd: all is fine')])
    expect(r.code).toBe(1)
    expect(r.stderr).not.toMatch(TERMINAL_CONTROL)
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1)
    // The cause is said, not cut off at the name's newline.
    expect(r.stderr).toContain('no such file')
  })

  test('a remote daemon’s error message reaches the terminal escaped, on one line', async () => {
    // A hostile or broken server behind --url chooses the message the CLI prints.
    const server = Bun.serve({
      port: 0,
      hostname: '127.0.0.1',
      fetch: () =>
        Response.json(
          { code: 'FILE_NOT_FOUND', message: 'gone\x1b[2J\x1b]0;title\x07\nexecd: forged' },
          { status: 404 },
        ),
    })
    try {
      const r = await runCli(['fs', 'stat', '/x', '--url', `http://127.0.0.1:${server.port}`])
      expect(r.code).toBe(1)
      expect(r.stderr).not.toMatch(TERMINAL_CONTROL)
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1)
      expect(r.stderr).toContain('gone\\e[2J')
    } finally {
      server.stop(true)
    }
  })
})
