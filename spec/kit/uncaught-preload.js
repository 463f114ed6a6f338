// Loaded into the compiled executable by Bun's own BUN_OPTIONS="--preload <this file>" (no
// switch of execd's): once the file named by EXECD_TEST_CUE appears, it raises in execd's
// process what execd's own code could raise — EXECD_TEST_RAISE says which:
//   handle     FileHandles left to the collector (Bun's finalizer closes each, then throws)
//   exception  an exception nobody catches
//   rejection  a rejection nobody handles
const { existsSync } = require('node:fs')
const { open } = require('node:fs/promises')

const cue = process.env.EXECD_TEST_CUE
const raise = process.env.EXECD_TEST_RAISE
delete process.env.EXECD_TEST_CUE
delete process.env.EXECD_TEST_RAISE
delete process.env.BUN_OPTIONS

const acts = {
  handle: async () => {
    for (let i = 0; i < 3; i++) await open('/proc/self/stat')
    for (let i = 0; i < 20; i++) {
      Bun.gc(true)
      await Bun.sleep(20)
    }
  },
  exception: () => setTimeout(() => {
    throw new Error('raised by the test')
  }),
  rejection: () => void Promise.reject(new Error('raised by the test')),
}

if (cue && acts[raise]) {
  const poll = setInterval(() => {
    if (!existsSync(cue)) return
    clearInterval(poll)
    void acts[raise]()
  }, 25)
  poll.unref()
}
