/**
 * A terminal for CLI tests, as a person has one: a tmux server of the test's own (its socket
 * named by pid and a random part: the pid alone is not unique across PID namespaces sharing /tmp),
 * a window running a fresh bash with a private HOME, keys sent and the screen read back.
 */
import { expect } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { waitFor } from '../harness'

export const hasTool = (tool: string) => Bun.spawnSync(['sh', '-c', `command -v ${tool}`]).exitCode === 0

export interface Terminal {
  /** Where each shell starts; removed by close(). */
  dir: string
  /** The shells' HOME (a REPL's history); removed by close(). */
  home: string
  /** A fresh shell in window `cli` of `columns` × `rows`, in `dir`. */
  shell(columns?: number, rows?: number): void
  keys(...keys: string[]): void
  /**
   * The pid of the shell in window `cli`: what it runs is looked for among its children, not on
   * the whole machine, where another run of the same file (or another file's same command) is.
   */
  shellPid(): number
  /** The window resized, as a person drags a terminal's edge (its programs get SIGWINCH). */
  resize(columns: number, rows: number): void
  /** The screen's rows; `joined`: rows the terminal wrapped joined back into their line. */
  screen(joined?: boolean): string
  /** Waits until the screen shows `what`; throws with the screen after `limitMs`. */
  shows(what: string | RegExp, limitMs?: number): Promise<void>
  close(): void
}

export function terminal(prefix: string): Terminal {
  const socket = `${prefix}-${process.pid}-${crypto.randomUUID().slice(0, 8)}`
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`))
  const home = mkdtempSync(join(tmpdir(), `${prefix}-home-`))
  const tmux = (...args: string[]) => Bun.spawnSync(['tmux', '-L', socket, ...args], { stderr: 'pipe' })
  const screen = (joined = false) =>
    tmux('capture-pane', '-p', ...(joined ? ['-J'] : []), '-t', 'cli').stdout.toString()
  return {
    dir,
    home,
    shell(columns = 120, rows = 50) {
      // A second session stays for the whole file: killing the only one makes the tmux server
      // exit, and a new-session racing that exit failed (exit 1, seen once in CI).
      if (tmux('has-session', '-t', 'keep').exitCode !== 0)
        expect(tmux('new-session', '-d', '-s', 'keep', 'sleep 3600').exitCode).toBe(0)
      tmux('kill-session', '-t', 'cli')
      const size = ['-x', String(columns), '-y', String(rows)]
      const started = tmux(
        'new-session',
        '-d',
        '-s',
        'cli',
        ...size,
        '-c',
        dir,
        `env HOME=${home} PS1='$ ' bash --norc`,
      )
      expect([started.exitCode, started.stderr.toString()]).toEqual([0, ''])
    },
    keys: (...keys) => void tmux('send-keys', '-t', 'cli', ...keys),
    shellPid: () => Number(tmux('display-message', '-p', '-t', 'cli', '#{pane_pid}').stdout.toString()),
    resize: (columns, rows) =>
      void expect(tmux('resize-window', '-t', 'cli', '-x', String(columns), '-y', String(rows)).exitCode).toBe(0),
    screen,
    async shows(what, limitMs = 30_000) {
      const seen = () => (typeof what === 'string' ? screen().includes(what) : what.test(screen()))
      await waitFor(`the screen to show ${what}`, seen, limitMs).catch(err => {
        throw new Error(`${(err as Error).message}; the screen:\n${screen()}`)
      })
    },
    close() {
      tmux('kill-server')
      // kill-server leaves the socket file behind.
      rmSync(join(process.env.TMUX_TMPDIR ?? '/tmp', `tmux-${process.getuid!()}`, socket), { force: true })
      rmSync(dir, { recursive: true, force: true })
      rmSync(home, { recursive: true, force: true })
    },
  }
}
