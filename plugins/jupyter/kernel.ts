/**
 * One Jupyter kernel as a RuntimeContext. The kernel belongs to the Jupyter server; execd
 * holds one WebSocket to it (reopened if it drops) and knows when it died: a
 * `restarting`/`dead` notice from the server, a vanished kernel, or a lost connection with
 * the kernel gone. Every wait is bounded, so a dead kernel ends the stream (reference #1206).
 */
import { CellQueue, type Overflow } from '../../core/cell-queue'
import { errorEvent, type ExecEvent } from '../../core/events'
import type { Logger } from '../../core/log'
import type { Completeness, RuntimeContext } from '../../core/plugin'
import { setLongTimeout, within, type LongTimer } from '../../core/timers'
import { KernelChannel } from './channel'
import { CellTracker, completenessOf, executeRequest, isCompleteRequest } from './messages'
import { JupyterHttpError, type JupyterServer } from './rest'

/**
 * A kernel that died is restarted by the server (its autorestart), and a DELETE sent while that
 * restart runs is a 500 ("Unhandled error", jupyter-server 1.23): given up then, the restarted
 * kernel ran on with no context to own it, one more per death (found by the fuzz: a cell that
 * kills its kernel, then the context deleted). The restart takes about a second: tried again
 * for up to ~6 s, then given up as before.
 */
const SHUTDOWN_RETRY_MS = [250, 500, 1000, 1500, 2500]

interface KernelTimings {
  /** How long to wait for the missing half of idle + execute_reply before giving up. */
  replyGraceMs: number
  /** How often a running cell checks over REST that its kernel still exists. */
  pollMs: number
}

/** The WebSocket pushes and cannot be paused: a reader that lags loses output, counted. */
export const OUTPUT_OVERFLOW: Overflow = {
  policy: 'drop',
  maxBytes: 8 << 20,
  notice: n => `[execd: ${n} bytes of output dropped: the reader fell behind]\n`,
}

export class JupyterKernel implements RuntimeContext {
  private channel: KernelChannel | null = null
  private connecting: Promise<KernelChannel> | null = null
  private readonly session = crypto.randomUUID()
  private deadWhy: string | null = null
  private closed = false
  private turn: Promise<void> = Promise.resolve()
  /** A cell's execute_request is out and its end not yet seen. */
  private running = false
  private interrupting: Promise<void> | null = null

  constructor(
    private readonly server: JupyterServer,
    readonly kernelId: string,
    private readonly log: Logger,
    private readonly timings: KernelTimings,
  ) {}

  get alive(): boolean {
    return !this.closed && this.deadWhy === null
  }

  /** Opens (or reuses) the kernel's channel; resolves once the kernel answers. */
  connect(): Promise<KernelChannel> {
    if (this.channel && !this.channel.closed) return Promise.resolve(this.channel)
    this.connecting ??= KernelChannel.open(this.server.channelsUrl(this.kernelId, this.session))
      .then(ch => {
        if (this.closed) {
          ch.close()
          throw new Error('the context was closed')
        }
        this.channel = ch
        // Between cells too: a vanished kernel shows first as a closed socket.
        ch.onClose(() => void this.checkKernel())
        // Between cells too: a restarted kernel has lost every variable.
        ch.subscribe(msg => {
          const state = msg.header?.msg_type === 'status' ? msg.content?.execution_state : undefined
          if (state === 'restarting' || state === 'dead') this.markDead(`the kernel died (server reports '${state}')`)
        })
        return ch
      })
      .finally(() => (this.connecting = null))
    return this.connecting
  }

  run(code: string): AsyncIterable<ExecEvent> {
    return this.execute(code, false)
  }

  /** Runs code without history or output (setup such as the cwd); resolves when it is done. */
  async runQuietly(code: string): Promise<void> {
    for await (const _ of this.execute(code, true));
  }

  /**
   * The kernel's word on whether `code` is a whole cell (is_complete_request), for a prompt of
   * a language execd has no rule for; `unknown` when it gives none within `waitMs` (the
   * channel opening counts), is dead, or its socket closes meanwhile.
   */
  async isComplete(code: string, waitMs: number): Promise<Completeness> {
    const unknown: Completeness = { status: 'unknown' }
    if (!this.alive) return unknown
    const deadline = performance.now() + waitMs
    const channel = await within(
      this.connect().catch(() => null),
      waitMs,
    )
    if (channel === 'timeout' || channel === null) return unknown
    const msgId = crypto.randomUUID()
    return new Promise(resolve => {
      let over = false
      let timer: ReturnType<typeof setTimeout> | undefined
      let unsubscribe = () => {}
      let unClose = () => {}
      const done = (answer: Completeness) => {
        if (over) return
        over = true
        unsubscribe()
        unClose()
        clearTimeout(timer)
        resolve(answer)
      }
      unsubscribe = channel.subscribe(msg => {
        const type = msg.header?.msg_type ?? msg.msg_type
        if (type === 'is_complete_reply' && msg.parent_header?.msg_id === msgId) done(completenessOf(msg.content))
      })
      // Called at once when the socket has closed already.
      unClose = channel.onClose(() => done(unknown))
      if (over) return
      timer = setTimeout(() => done(unknown), Math.max(0, deadline - performance.now()))
      try {
        channel.send(isCompleteRequest(msgId, this.session, code))
      } catch {
        done(unknown)
      }
    })
  }

  /**
   * The server interrupts with a SIGINT, which hits whatever runs when it lands: a second
   * interrupt sent while one is on its way would land in the next cell, so close ones are one
   * SIGINT, none is sent between cells, and the next cell goes only once it is delivered.
   */
  async interrupt(): Promise<void> {
    if (!this.alive || !this.running) return
    this.interrupting ??= this.server.interrupt(this.kernelId).finally(() => (this.interrupting = null))
    await this.interrupting
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.channel?.close()
    for (const waitMs of [...SHUTDOWN_RETRY_MS, -1]) {
      try {
        return await this.server.deleteKernel(this.kernelId)
      } catch (e) {
        if (waitMs < 0 || !(e instanceof JupyterHttpError && e.status >= 500)) {
          return this.log.warn('jupyter: could not shut the kernel down', { kernel: this.kernelId, err: String(e) })
        }
      }
      await Bun.sleep(waitMs)
    }
  }

  private markDead(why: string): void {
    if (this.deadWhy !== null || this.closed) return
    this.deadWhy = why
    this.log.warn('jupyter: kernel died', { kernel: this.kernelId, why })
  }

  private async *execute(code: string, silent: boolean): AsyncGenerator<ExecEvent> {
    // One cell at a time per kernel: a second run waits for the first to end.
    const previous = this.turn
    let release!: () => void
    this.turn = new Promise(r => (release = r))
    await previous
    try {
      yield* this.executeNow(code, silent)
    } finally {
      release()
    }
  }

  private async *executeNow(code: string, silent: boolean): AsyncGenerator<ExecEvent> {
    if (!this.alive) {
      yield errorEvent('DeadKernelError', this.deathText())
      return
    }
    let channel: KernelChannel
    try {
      channel = await this.connect()
    } catch (e) {
      await this.checkKernel()
      yield errorEvent(
        this.alive ? 'KernelConnectionError' : 'DeadKernelError',
        this.alive ? (e as Error).message : this.deathText(),
      )
      return
    }
    const msgId = crypto.randomUUID()
    const tracker = new CellTracker(msgId)
    const queue = new CellQueue(OUTPUT_OVERFLOW)
    let grace: LongTimer | undefined

    const fail = (ename: string, evalue: string) => queue.end(errorEvent(ename, evalue))
    const finish = () => queue.end(...tracker.finish())
    const unsubscribe = channel.subscribe(msg => {
      const step = tracker.accept(msg)
      queue.push(...step.events)
      if (step.died) {
        this.markDead(`the kernel died (server reports '${step.died}')`)
        return fail('DeadKernelError', this.deathText())
      }
      if (tracker.done) return finish()
      if ((tracker.idle || tracker.replied) && !grace) {
        // A long timer: --jupyter-reply-grace past 2^31 ms was 1 ms with setTimeout.
        grace = setLongTimeout(() => void this.graceExpired(tracker, channel, finish, fail), this.timings.replyGraceMs)
      }
    })
    const unClose = channel.onClose(why => void this.channelLost(why, fail))
    const poll = setInterval(() => void this.pollKernel(fail), this.timings.pollMs)
    try {
      await this.interrupting?.catch(() => {})
      this.running = true
      try {
        channel.send(executeRequest(msgId, this.session, code, silent))
      } catch {
        // The socket closed since connect(): the close listener above reports it.
      }
      // A kernel shut down between cells leaves the socket open on some servers: ask at once,
      // beside the request, rather than only at the next poll.
      void this.pollKernel(fail)
      for await (const e of queue) yield e
    } finally {
      this.running = false
      unsubscribe()
      unClose()
      clearInterval(poll)
      grace?.clear()
    }
  }

  /** Only half of idle + reply came within the grace period (#1206: the reference hung here). */
  private async graceExpired(
    tracker: CellTracker,
    channel: KernelChannel,
    finish: () => void,
    fail: (ename: string, evalue: string) => void,
  ): Promise<void> {
    if (tracker.replied) {
      // The kernel answered; only the trailing idle went missing, and with it no output.
      return finish()
    }
    await this.checkKernel()
    if (!this.alive) fail('DeadKernelError', this.deathText())
    else
      fail(
        'KernelReplyTimeout',
        `the kernel went idle but sent no execute_reply within ${this.timings.replyGraceMs} ms`,
      )
    // A lost reply means this socket cannot be trusted any more: the next cell opens a new one.
    channel.close()
  }

  private async channelLost(why: string, fail: (ename: string, evalue: string) => void): Promise<void> {
    await this.checkKernel()
    if (this.closed) return fail('DeadKernelError', 'the context was closed while the cell ran')
    if (!this.alive) return fail('DeadKernelError', this.deathText())
    fail('KernelConnectionError', `the connection to the kernel closed (${why}); the cell's outcome is unknown`)
  }

  private async pollKernel(fail: (ename: string, evalue: string) => void): Promise<void> {
    // A server that does not answer one poll may be busy; the socket closing decides then.
    await this.checkKernel(false)
    if (!this.alive) fail('DeadKernelError', this.deathText())
  }

  /** Asks the server whether the kernel still exists. */
  private async checkKernel(unreachableIsDead = true): Promise<void> {
    if (!this.alive) return
    try {
      const k = await this.server.kernel(this.kernelId)
      if (!k) this.markDead('the kernel no longer exists on the Jupyter server')
      else if (k.execution_state === 'dead') this.markDead("the Jupyter server reports the kernel 'dead'")
    } catch (e) {
      if (unreachableIsDead) this.markDead(`the Jupyter server is unreachable: ${(e as Error).message}`)
    }
  }

  private deathText(): string {
    if (this.closed && !this.deadWhy) return 'the context was closed'
    return `${this.deadWhy ?? 'the kernel died'}; its state is lost`
  }
}
