/** What the metrics section offers outside its folder: a snapshot's shape and its wire model, for `execd metrics`. */
export type { Metrics } from './ops'
export { MetricsSchema } from './schema'
