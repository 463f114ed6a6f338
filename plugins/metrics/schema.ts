import { t } from 'elysia'

export const MetricsSchema = t.Object(
  {
    cpu_count: t.Number({ description: 'CPUs available: the cgroup CPU quota, else the host count' }),
    cpu_used_pct: t.Number({ description: 'CPU used over the last second, % of cpu_count' }),
    mem_total_mib: t.Number({ description: 'memory limit of the cgroup, else host total (MiB)' }),
    mem_used_mib: t.Number({ description: 'memory used in the cgroup, else by the host (MiB)' }),
    timestamp: t.Number({ description: 'Unix ms of the sample' }),
  },
  { title: 'Metrics' },
)
