/**
 * A client session of the dispatcher: sends utterances (one stream each, audio in chunks) and
 * receives results, in utterance order, as `dispatch.result` events.
 */
import { createClient, EchoError } from '@echostream/kernel'
import presetDefault from '@echostream/preset-default'
import streams from '@echostream/plugin-streams'
import { RECEIPT_EVENT, RESULT_EVENT, UTTERANCE_STREAM, type Receipt, type SessionResult, type UtteranceMeta } from './protocol.js'

/** How long `send` waits for the dispatcher's receipt after the last chunk went out. */
const RECEIPT_TIMEOUT_MS = 30_000

export interface DispatchSession {
  /**
   * Sends utterance `index` as these chunks; resolves once the dispatcher has it queued, rejects
   * with its refusal (`E_DUPLICATE`, `E_INVALID_ARGUMENT`, `E_PAYLOAD_TOO_LARGE`, `E_BUSY`…) or the
   * stream's error (`E_INVALID_PAYLOAD` for bad meta, `E_CLOSED`).
   */
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
  // Receipts by stream id; one that arrives before `send` looks for it waits here.
  const receipts = new Map<number, Receipt>()
  const waiting = new Map<number, (receipt: Receipt) => void>()
  client.events.on(RECEIPT_EVENT, (receipt: Receipt) => {
    const wake = waiting.get(receipt.stream)
    if (wake) {
      waiting.delete(receipt.stream)
      wake(receipt)
    } else receipts.set(receipt.stream, receipt)
  })
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
      let timer: ReturnType<typeof setTimeout> | undefined
      const receipt = new Promise<Receipt>((resolve, reject) => {
        const early = receipts.get(writer.id)
        if (early) {
          receipts.delete(writer.id)
          return resolve(early)
        }
        timer = setTimeout(() => {
          waiting.delete(writer.id)
          reject(new EchoError('E_TIMEOUT', `no receipt for utterance ${index} within ${RECEIPT_TIMEOUT_MS} ms`))
        }, RECEIPT_TIMEOUT_MS)
        waiting.set(writer.id, (r) => {
          clearTimeout(timer)
          resolve(r)
        })
      })
      receipt.catch(() => {}) // awaited below, or given up on when the stream fails
      try {
        for (const chunk of chunks) await writer.write(chunk)
        await writer.end()
      } catch (error) {
        // A refusal cancels the stream too: report the dispatcher's reason when it has one.
        const early = await Promise.race([receipt.catch(() => undefined), new Promise<undefined>((r) => setTimeout(r, 1000))])
        waiting.delete(writer.id)
        clearTimeout(timer)
        if (early?.error) throw new EchoError(early.error.code, early.error.message)
        throw error
      }
      const { error } = await receipt
      if (error) throw new EchoError(error.code, error.message)
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
