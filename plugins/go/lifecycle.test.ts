/** A go context's life: streaming, interrupt, the kernel's death, close, and a missing toolchain. */
import { afterAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { resolveConfig } from '../../core/config'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { CellAssembler } from '../../core/cell-assembler'
import type { ExecEvent } from '../../core/events'
import { within } from '../../core/timers'
import { go } from '.'
import {
  errorOf,
  GO_TEST_TIMEOUT_MS,
  noGo,
  removeTempDirs,
  resultOf,
  runCell,
  startCell,
  startGo,
  tempDir,
  textOf,
} from './test-context'

setDefaultTimeout(GO_TEST_TIMEOUT_MS)

/** Whether `pid` runs (a zombie waiting for its reaper does not). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return false
  }
}

test('--go naming no toolchain makes go unavailable, with the reason', async () => {
  const config = resolveConfig(go.options ?? [], { go: '/nonexistent/go' })
  const [info] = await go.languages(config)
  expect(info).toMatchObject({ language: 'go', available: false })
  expect(info!.detail).toContain('/nonexistent/go not found')
})

describe.skipIf(!!noGo)(`go context${noGo ? ` (skipped: ${noGo})` : ''}`, () => {
  afterAll(removeTempDirs)

  test('go is available with its version', async () => {
    const [info] = await go.languages(resolveConfig(go.options ?? [], {}))
    expect(info).toMatchObject({ language: 'go', available: true })
    expect(info!.detail).toMatch(/go1\.\d+/)
  })

  test('output streams while the cell runs', async () => {
    const ctx = await startGo()
    try {
      const cell = startCell(
        ctx,
        'import "time"\n\nfmt.Println("first")\ntime.Sleep(time.Second)\nfmt.Println("second")',
      )
      await cell.output
      const events = await cell.events
      const outs = events.filter(e => e.type === 'stdout').map(e => e.text)
      expect(outs).toEqual(['first\n', 'second\n'])
    } finally {
      await ctx.close()
    }
  })

  test('an interrupt stops `for {}` and the declarations stay', async () => {
    const ctx = await startGo()
    try {
      await runCell(ctx, 'import "fmt"\n\nvar kept = 41')
      const cell = startCell(ctx, 'fmt.Println("spinning")\nfor {\n}')
      await cell.output
      await ctx.interrupt()
      const events = await cell.events
      expect(errorOf(events)?.ename).toBe('KeyboardInterrupt')
      expect(ctx.alive).toBe(true)
      expect(resultOf(await runCell(ctx, 'kept + 1'))?.['text/plain']).toBe('42')
    } finally {
      await ctx.close()
    }
  })

  test('an interrupt stops a cell flooding its output, and the declarations stay', async () => {
    // The stop must land while the program is blocked writing, or between its writes, and
    // every stop leaves the kernel (and its declarations) to answer the next cell.
    const ctx = await startGo()
    try {
      await runCell(ctx, 'import "fmt"\n\nvar kept = 41')
      for (let round = 0; round < 3; round++) {
        const cell = startCell(ctx, 'for i := 0; true; i++ {\n\tfmt.Println("line", i)\n}')
        await cell.output
        await ctx.interrupt()
        expect(errorOf(await cell.events)?.ename).toBe('KeyboardInterrupt')
        expect(ctx.alive).toBe(true)
        expect(resultOf(await runCell(ctx, 'kept + 1'))?.['text/plain']).toBe('42')
      }
    } finally {
      await ctx.close()
    }
  })

  test('an interrupt ends a flooding cell while the reader lags, and the declarations stay', async () => {
    // The cell's end comes behind its output: with the reader taking none, backpressure held
    // it back, and the code section's grace then killed the kernel (state lost).
    const ctx = await startGo()
    try {
      await runCell(ctx, 'import "fmt"\n\nvar kept = 41')
      const cell = ctx.run('for i := 0; true; i++ {\n\tfmt.Println("line", i)\n}')[Symbol.asyncIterator]()
      expect((await cell.next()).value?.type).toBe('stdout')
      // The reader takes nothing more: wait until the queue holds a pump, then stop the cell.
      const cells = (ctx as unknown as { cells: CellAssembler }).cells
      const queue = cells.running
      while (!queue?.isHeld) await Bun.sleep(10)
      await ctx.interrupt()
      // As the code section waits for a stop (its grace), with nothing read meanwhile.
      expect(await within(queue.finished, 10_000)).not.toBe('timeout')
      const rest: ExecEvent[] = []
      for (let r = await cell.next(); !r.done; r = await cell.next()) rest.push(r.value)
      expect(errorOf(rest)?.ename).toBe('KeyboardInterrupt')
      expect(ctx.alive).toBe(true)
      // All of the stopped cell's output was taken in (or dropped) before its end, none left
      // in the pipes for the next cell.
      const next = await runCell(ctx, 'kept + 1')
      expect(resultOf(next)?.['text/plain']).toBe('42')
      expect(textOf(next, 'stdout')).toBe('')
    } finally {
      await ctx.close()
    }
  })

  test('a cell that removes the module it was built in leaves the next cell working, declarations kept', async () => {
    const ctx = await startGo()
    try {
      await runCell(ctx, 'var kept = 41')
      const removing = [
        // The module's files one by one, then the whole module directory.
        'exe, _ := os.Executable()\nos.Remove(filepath.Join(filepath.Dir(exe), "go.mod"))',
        'exe, _ := os.Executable()\nos.Remove(filepath.Join(filepath.Dir(exe), "execd.go"))',
        'exe, _ := os.Executable()\nos.RemoveAll(filepath.Dir(exe))',
      ]
      for (const code of removing) {
        expect(errorOf(await runCell(ctx, `import "path/filepath"\n\n${code}`))).toBeUndefined()
        const next = await runCell(ctx, 'kept + 1')
        expect({ code, error: errorOf(next)?.evalue }).toEqual({ code, error: undefined })
        expect(resultOf(next)?.['text/plain']).toBe('42')
      }
      expect(ctx.alive).toBe(true)
    } finally {
      await ctx.close()
    }
  })

  test('a support file or go.mod replaced by a symlink, dangling or not, or by other text is made again in place', async () => {
    const cwd = tempDir()
    const outside = join(cwd, 'outside')
    const ctx = await startGo(cwd)
    try {
      await runCell(ctx, 'var kept = 41')
      const module = 'exe, _ := os.Executable()\ndir := filepath.Dir(exe)'
      const replacing = [
        `${module}\nos.Remove(dir + "/execd.go")\nos.Symlink(${JSON.stringify(outside)}, dir + "/execd.go")`,
        `${module}\nos.Remove(dir + "/execd.go")\nos.Symlink("/etc/hostname", dir + "/execd.go")`,
        `${module}\nos.WriteFile(dir + "/execd.go", []byte("package main\\n"), 0o600)`,
        `${module}\nos.Remove(dir + "/go.mod")\nos.Symlink(${JSON.stringify(outside)}, dir + "/go.mod")`,
      ]
      for (const code of replacing) {
        expect(errorOf(await runCell(ctx, `import "path/filepath"\n\n${code}`))).toBeUndefined()
        const next = await runCell(ctx, 'kept + 1')
        expect({ code, error: errorOf(next)?.evalue }).toEqual({ code, error: undefined })
        expect(resultOf(next)?.['text/plain']).toBe('42')
        // Made in the module, not through the link: nothing written where it pointed.
        expect(existsSync(outside)).toBe(false)
      }
    } finally {
      await ctx.close()
    }
  })

  test('the cell runs in the context cwd with its environment', async () => {
    const ctx = await startGo()
    try {
      const events = await runCell(
        ctx,
        'import (\n\t"fmt"\n\t"os"\n)\n\nwd, _ := os.Getwd()\nfmt.Println(wd != "", os.Getenv("PATH") != "")',
      )
      expect(textOf(events, 'stdout')).toBe('true true\n')
    } finally {
      await ctx.close()
    }
  })

  test('a dead kernel ends the cell with DeadKernelError and the context is no longer alive', async () => {
    const ctx = await startGo()
    try {
      const events = await runCell(
        ctx,
        'import (\n\t"os"\n\t"syscall"\n)\n\nsyscall.Kill(os.Getppid(), syscall.SIGKILL)',
      )
      expect(errorOf(events)?.ename).toBe('DeadKernelError')
      expect(ctx.alive).toBe(false)
    } finally {
      await ctx.close()
    }
  })

  test('close kills the kernel and what its cell started', async () => {
    const ctx = await startGo()
    const cell = startCell(
      ctx,
      'import (\n\t"fmt"\n\t"os/exec"\n)\n\ncmd := exec.Command("sleep", "60")\ncmd.Start()\nfmt.Println(cmd.Process.Pid)\ncmd.Wait()',
    )
    await cell.output
    await ctx.close()
    const events = await cell.events
    const pid = Number(textOf(events, 'stdout').trim())
    expect(pid).toBeGreaterThan(0)
    expect(running(pid)).toBe(false)
  })
})
