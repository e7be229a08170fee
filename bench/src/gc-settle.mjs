/**
 * Collect garbage until the heap is quiet (three `gc()` 50 ms apart, then one more): what the
 * memory row reads after (src/server.mjs) and what src/heap-diff.mjs snapshots after, so both see
 * the same heap. Needs `node --expose-gc`.
 */
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

export async function settleHeap() {
  if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc')
  for (let i = 0; i < 3; i++) {
    globalThis.gc()
    await sleep(50)
  }
  globalThis.gc()
}
