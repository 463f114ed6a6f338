/**
 * The `bash` language runtime: a code context is one live bash (core/live-bash/), so
 * variables, functions and the cwd persist between executions. Output is passed through as
 * bash wrote it; a non-zero status of the cell is an `error` event, as for commands.
 */
import { errorEvent, makeEvent, type ExecEvent } from '../../core/events'
import type { LiveBash } from '../../core/live-bash'
import type { LanguageInfo, Runtime, RuntimeContext, StartOptions } from '../../core/plugin'
import { deathWords, OomWatch } from '../../core/oom'
import { scrubSecrets } from '../../core/secrets'

async function bashVersion(path: string): Promise<string> {
  try {
    scrubSecrets() // a child, if not an owned one: nothing secret left in our /proc for it
    const out = await new Response(Bun.spawn([path, '--version'], { stdout: 'pipe', stderr: 'ignore' }).stdout).text()
    return `${path} (${out.split('\n')[0]})`
  } catch {
    return path
  }
}

export const bash: Runtime = {
  name: 'bash',
  async languages(): Promise<LanguageInfo[]> {
    const path = Bun.which('bash')
    if (!path) return [{ language: 'bash', available: false, detail: 'bash is not on PATH' }]
    return [{ language: 'bash', available: true, detail: await bashVersion(path) }]
  },
  async start(opts: StartOptions): Promise<RuntimeContext> {
    // Loaded with the first context, not with execd: serve's start does not wait for it.
    const { LiveBash } = await import('../../core/live-bash')
    return new BashContext(new LiveBash({ cwd: opts.cwd, env: opts.env }))
  },
}

class BashContext implements RuntimeContext {
  private readonly oom = new OomWatch()
  constructor(private readonly shell: LiveBash) {}

  get alive(): boolean {
    return this.shell.alive
  }

  async *run(code: string): AsyncIterable<ExecEvent> {
    const decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() }
    const it = this.shell.run(code)
    this.oom.mark()
    for (;;) {
      const r = await it.next()
      if (!r.done) {
        const text = decoders[r.value.stream].decode(r.value.data, { stream: true })
        if (text) yield makeEvent(r.value.stream, { text })
        continue
      }
      for (const stream of ['stdout', 'stderr'] as const) {
        const tail = decoders[stream].decode()
        if (tail) yield makeEvent(stream, { text: tail })
      }
      const end = r.value
      if (end.kind === 'died') {
        const info = this.shell.exit
        const cause = info ? deathWords(info, await this.oom.outOfMemory(info)) : end.reason
        // Named like the other runtimes' deaths, so clients can tell it from a failing command.
        yield errorEvent('DeadKernelError', cause, [cause, 'bash exited: the context state is lost'])
      } else if (end.interrupted) {
        yield errorEvent('CommandExecError', '130', ['signal: interrupt'])
      } else if (end.code !== 0) {
        yield errorEvent('CommandExecError', String(end.code), [`exit status ${end.code}`])
      }
      return
    }
  }

  interrupt(): Promise<void> {
    return this.shell.interrupt()
  }

  close(): Promise<void> {
    return this.shell.close()
  }
}
