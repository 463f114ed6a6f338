/**
 * `execd metrics [--watch]`: the metrics section's operations, here or on a daemon (--url),
 * printed for people or as JSON. `--watch` prints one sample a second until Ctrl-C or SIGTERM
 * (128 + the signal, as every other verb a signal ends); a watch that ends any other way failed
 * (the daemon stopped, the connection was lost): one line saying so, exit 1.
 */
import { onStop, signalExit, stopSignal } from './lifecycle'
import { Type } from '@sinclair/typebox'
import { MetricsSchema, type Metrics } from '../plugins/metrics/contract'
import { lostConnection, remoteOf, type Remote } from './remote'
import { answerOf, sseEvents } from './remote-answers'
import { saidWhenSilent, seconds } from './daemon-quiet'

interface MetricsSource {
  snapshot(): Promise<Metrics>
  watch(): AsyncIterable<Metrics>
  close(): Promise<void> | void
}

/** A watch's samples come each second: this long without one is said (unless --silence-notice says otherwise). */
const SILENCE_MS = 3000
export const silence = (base: string, ms = SILENCE_MS) =>
  `no sample from ${base} for ${seconds(ms)} (a daemon stopped, or stuck?); still watching`

export async function metricsCommand(options: { json?: boolean; watch?: boolean; url?: string }): Promise<number> {
  const print = (m: Metrics) => void process.stdout.write(options.json ? `${JSON.stringify(m)}\n` : human(m))
  const remote = remoteOf(options)
  const source = remote ? remoteMetrics(remote) : await localMetrics()
  try {
    if (!options.watch) return (print(await source.snapshot()), 0)
    // A daemon stopped (SIGSTOP) or stuck sends no sample and no end: the last sample stayed on
    // the screen as if it were now's. Said once per silence, on stderr; the watch goes on.
    const watched = remote
      ? saidWhenSilent(source.watch(), remote.silenceMs ?? SILENCE_MS, () =>
          process.stderr.write(`execd: ${silence(remote.base, remote.silenceMs)}\n`),
        )
      : source.watch()
    const samples = watched[Symbol.asyncIterator]()
    // Ctrl-C is how a watch ends: quietly, 130 as any verb a signal ends. The sampler's timer is unref'd (it must
    // not keep a server's CLI sibling alive), so this timer keeps the process waiting rather
    // than leaving Bun's loop spinning with nothing to wait on.
    let stopped = false
    const keepAlive = setInterval(() => {}, 1 << 30)
    const stop = onStop(() => {
      stopped = true
      void samples.return?.()
    })
    try {
      let last = -1
      for (;;) {
        const next = await samples.next().catch(err => {
          if (stopped) return { done: true as const, value: undefined }
          throw remote ? lostConnection(err, remote.base, 'while watching metrics') : err
        })
        if (stopped) break
        // A stream that ended by itself was ended by the daemon (it stopped): exit 0 read as
        // "watched until Ctrl-C" to a script that waits on it.
        if (next.done)
          throw new Error(`${remote?.base ?? 'this machine'} ended the metrics stream (did the daemon stop?)`)
        // The sampler may hand the first sample twice (the snapshot, then its tick): one per time.
        if (next.value.timestamp === last) continue
        last = next.value.timestamp
        print(next.value)
      }
    } finally {
      clearInterval(keepAlive)
      stop()
    }
    // Stopped by a signal (the loop breaks only then): the status says which, as in `exec`.
    const signal = stopSignal()
    return signal ? signalExit(signal) : 0
  } finally {
    await source.close()
  }
}

async function localMetrics(): Promise<MetricsSource> {
  const [{ openSection }, { metrics }, { configFrom }] = await Promise.all([
    import('../core/app'),
    import('../plugins/metrics'),
    import('./options'),
  ])
  const { ops, close } = await openSection(metrics, configFrom({}))
  return { snapshot: () => ops.snapshot(), watch: () => ops.watch(), close }
}

function remoteMetrics(remote: Remote): MetricsSource {
  const controller = new AbortController()
  return {
    snapshot: () => remote.json('GET', '/metrics', MetricsSchema),
    async *watch() {
      const res = await remote.call('GET', '/metrics/watch', { signal: controller.signal })
      // Its frames are the samples themselves, no events: any object, checked below.
      for await (const event of sseEvents(res, 'GET /metrics/watch', Type.Object({}))) {
        // The stream's own events (init, ping) are not samples.
        if ('cpu_count' in event) yield answerOf('GET /metrics/watch', MetricsSchema, event)
      }
    },
    close: () => controller.abort(),
  }
}

function human(m: Metrics): string {
  const pct = m.mem_total_mib > 0 ? (m.mem_used_mib / m.mem_total_mib) * 100 : 0
  return [
    `time    ${new Date(m.timestamp).toISOString().slice(0, 19)}Z`,
    `cpu     ${m.cpu_used_pct.toFixed(1)}% of ${m.cpu_count} CPU${m.cpu_count === 1 ? '' : 's'}`,
    `memory  ${m.mem_used_mib.toFixed(1)} MiB of ${m.mem_total_mib.toFixed(1)} MiB (${pct.toFixed(1)}%)`,
    '',
  ].join('\n')
}
