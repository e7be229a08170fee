/**
 * PingRounds on its own (virtual timers): one ping per round to each ready connection that owes no
 * pong, one deadline per round, and the deadline ends exactly the connections of its round (or
 * earlier) still owing a pong — also when rounds overlap (timeout ≥ interval).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { CloseCodes, PingRounds, type PingedConnection } from '../../src/index.js'

class FakeConnection implements PingedConnection {
  pingRound = 0
  ready = true
  pings = 0
  ended: { code: number; reason: string } | undefined
  /** Answers every ping with a pong at once when true. */
  constructor(public answers = true) {}
  ping(): void {
    this.pings++
    if (this.answers) this.pingRound = 0
  }
  terminate(code: number, reason: string): void {
    this.ended ??= { code, reason }
    this.ready = false
  }
}

beforeEach(() => void vi.useFakeTimers())
afterEach(() => void vi.useRealTimers())

describe('PingRounds', () => {
  it('pings each ready connection once per round and ends one whose pong is late, exactly at the deadline', () => {
    const alive = new FakeConnection(true)
    const silent = new FakeConnection(false)
    const notReady = Object.assign(new FakeConnection(false), { ready: false })
    const pinger = new PingRounds([alive, silent, notReady], 100, 40)
    pinger.start()
    vi.advanceTimersByTime(100)
    expect([alive.pings, silent.pings, notReady.pings]).toEqual([1, 1, 0])
    expect(silent.pingRound).toBe(1)
    vi.advanceTimersByTime(39)
    expect(silent.ended).toBeUndefined()
    vi.advanceTimersByTime(1)
    expect(silent.ended).toEqual({ code: CloseCodes.pingTimeout, reason: 'ping timeout: no pong within 40 ms' })
    expect(alive.ended).toBeUndefined()
    vi.advanceTimersByTime(1000)
    expect(alive.pings).toBe(11)
    expect(alive.ended).toBeUndefined()
    pinger.stop()
  })

  it('with overlapping rounds, a check ends only connections of its own round or earlier', () => {
    const owing = new FakeConnection(false)
    const connections: FakeConnection[] = [owing]
    const pinger = new PingRounds(connections, 100, 250)
    pinger.start()
    vi.advanceTimersByTime(100) // round 1 pings `owing`
    const late = new FakeConnection(false)
    connections.push(late)
    vi.advanceTimersByTime(100) // round 2 pings `late` only (`owing` still owes round 1)
    expect([owing.pings, late.pings]).toEqual([1, 1])
    expect(late.pingRound).toBe(2)
    vi.advanceTimersByTime(150) // t = 350: round 1's check
    expect(owing.ended?.code).toBe(CloseCodes.pingTimeout)
    expect(late.ended).toBeUndefined()
    late.pingRound = 0 // its pong arrives
    vi.advanceTimersByTime(100) // t = 450: round 2's check
    expect(late.ended).toBeUndefined()
    pinger.stop()
  })

  it('stop() clears the interval and every pending check', () => {
    const silent = new FakeConnection(false)
    const pinger = new PingRounds([silent], 100, 50)
    pinger.start()
    vi.advanceTimersByTime(100)
    pinger.stop()
    vi.advanceTimersByTime(1000)
    expect(silent.pings).toBe(1)
    expect(silent.ended).toBeUndefined()
    expect(vi.getTimerCount()).toBe(0)
  })
})
