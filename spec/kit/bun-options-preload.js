// Loaded through BUN_OPTIONS="--preload <this file>" (spec/bun-options.test.ts): notes every Bun
// process it is loaded into, execd's own and any child's, in the file EXECD_TEST_PRELOADED names.
const { appendFileSync } = require('node:fs')

const file = process.env.EXECD_TEST_PRELOADED
if (file) appendFileSync(file, `${process.pid}\n`)
globalThis.execdTestPreloaded = true
