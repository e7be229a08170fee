/**
 * A client session of the dispatcher: sends utterances (one stream each, audio in chunks) and
 * receives results, in utterance order, as `dispatch.result` events.
 */
import { createClient } from '@echostream/kernel'
import presetDefault from '@echostream/preset-default'
import streams from '@echostream/plugin-streams'
import { RESULT_EVENT, UTTERANCE_STREAM, type SessionResult, type UtteranceMeta } from './protocol.js'

export interface DispatchSession {
  /** Sends utterance `index` as these chunks; resolves once the last chunk is sent. */
  send(index: number, capability: string, chunks: readonly Uint8Array[]): Promise<void>
  /** Results so far, in the order they arrived. */
  readonly results: readonly SessionResult[]
  /** Calls `fn` for every result from now on; returns the unsubscribe function. */
  onResult(fn: (result: SessionResult) => void): () => void
  /** Resolves once `count` results have arrived (rejects after `timeoutMs`). */
  waitFor(count: number, timeoutMs: number): Promise<readonly SessionResult[]>
  close(): Promise<void>
}

export async function openSession(url: string): Promise<DispatchSession> {
  const client = await createClient({ preset: presetDefault, plugins: [streams], url })
  const results: SessionResult[] = []
  const listeners = new Set<(result: SessionResult) => void>()
  client.events.on(RESULT_EVENT, (result: SessionResult) => {
    results.push(result)
    for (const fn of listeners) fn(result)
  })
  await client.start()
  return {
    results,
    async send(index, capability, chunks) {
      const meta: UtteranceMeta = { index, capability }
      const writer = await client.streams.open(UTTERANCE_STREAM, meta)
      for (const chunk of chunks) await writer.write(chunk)
      await writer.end()
    },
    onResult(fn) {
      listeners.add(fn)
      return () => listeners.delete(fn)
    },
    waitFor(count, timeoutMs) {
      if (results.length >= count) return Promise.resolve(results)
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          listeners.delete(check)
          reject(new Error(`${results.length} of ${count} results after ${timeoutMs} ms`))
        }, timeoutMs)
        const check = () => {
          if (results.length < count) return
          clearTimeout(timer)
          listeners.delete(check)
          resolve(results)
        }
        listeners.add(check)
      })
    },
    close: () => client.stop(),
  }
}
