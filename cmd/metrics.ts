/** `execd metrics`: the metrics plugin's operations, printed for people or as JSON. */
import { openSection } from '../core/app'
import { metrics } from '../plugins/metrics'
import type { Metrics } from '../plugins/metrics/ops'
import { configFrom } from './options'

export async function metricsCommand(options: { json?: boolean; watch?: boolean }): Promise<void> {
  const print = (m: Metrics) => {
    process.stdout.write(options.json ? `${JSON.stringify(m)}\n` : human(m))
  }
  const { ops, close } = await openSection(metrics, configFrom({}))
  try {
    if (!options.watch) return print(await ops.snapshot())
    process.on('SIGINT', () => process.exit(0))
    for await (const m of ops.watch()) print(m)
  } finally {
    await close()
  }
}

function human(m: Metrics): string {
  const pct = m.mem_total_mib > 0 ? (m.mem_used_mib / m.mem_total_mib) * 100 : 0
  return [
    `time    ${new Date(m.timestamp).toISOString()}`,
    `cpu     ${m.cpu_used_pct.toFixed(1)}% of ${m.cpu_count} CPU${m.cpu_count === 1 ? '' : 's'}`,
    `memory  ${m.mem_used_mib.toFixed(1)} MiB of ${m.mem_total_mib.toFixed(1)} MiB (${pct.toFixed(1)}%)`,
    '',
  ].join('\n')
}
