import { describe, expect, it } from 'vitest'
import { Deadlines, slackOf, type DeadlineList, type Timed } from '../../src/deadlines.js'

class Item implements Timed {
  deadline = 0
  prev: Timed | undefined = undefined
  next: Timed | undefined = undefined
  list: DeadlineList | undefined = undefined
  constructor(readonly name: string) {}
}

const waitFor = async (predicate: () => boolean, ms = 5000) => {
  const end = Date.now() + ms
  while (!predicate()) {
    if (Date.now() > end) throw new Error('timed out waiting')
    await new Promise((r) => setTimeout(r, 5))
  }
}

describe('Deadlines', () => {
  it('expires items in order, one timer per distinct timeout, and never a removed item', async () => {
    const expired: string[] = []
    const deadlines = new Deadlines<Item>((item) => expired.push(item.name))
    const items = ['a', 'b', 'c', 'd'].map((n) => new Item(n))
    for (const item of items) deadlines.add(item, 30)
    const other = new Item('other')
    deadlines.add(other, 60)
    expect(deadlines.timers).toBe(2)
    deadlines.remove(items[0]!) // the head
    deadlines.remove(items[2]!) // a middle one
    deadlines.remove(items[2]!) // twice is fine
    await waitFor(() => expired.length === 3)
    expect(expired).toEqual(['b', 'd', 'other'])
    expect(items.every((i) => i.list === undefined && i.prev === undefined && i.next === undefined)).toBe(true)
    expect(deadlines.timers).toBe(0) // nothing left: no timer stays armed
  })

  it('an item added after the head was removed still expires on time, and the list re-arms', async () => {
    const expired: string[] = []
    const deadlines = new Deadlines<Item>((item) => expired.push(item.name))
    const first = new Item('first')
    deadlines.add(first, 40)
    deadlines.remove(first)
    await new Promise((r) => setTimeout(r, 20))
    const second = new Item('second')
    deadlines.add(second, 40) // its deadline is after the armed timer's
    await waitFor(() => expired.length === 1)
    expect(expired).toEqual(['second'])
  })

  it('clear() stops every timer', async () => {
    const expired: string[] = []
    const deadlines = new Deadlines<Item>((item) => expired.push(item.name))
    deadlines.add(new Item('x'), 10)
    deadlines.add(new Item('y'), 20)
    deadlines.clear()
    expect(deadlines.timers).toBe(0)
    await new Promise((r) => setTimeout(r, 60))
    expect(expired).toEqual([])
  })

  it('never expires an item before its timeout, though the list reads the clock only when its timer is armed or fires', async () => {
    const timeoutMs = 80
    const addedAt = new Map<string, number>()
    const late = new Map<string, number>()
    const deadlines = new Deadlines<Item>((item) => late.set(item.name, performance.now() - addedAt.get(item.name)! - timeoutMs))
    const add = (name: string) => {
      addedAt.set(name, performance.now())
      deadlines.add(new Item(name), timeoutMs)
    }
    // b and c join a list whose timer is armed: their deadlines come from its earlier reading.
    add('a')
    await new Promise((r) => setTimeout(r, 3))
    add('b')
    await new Promise((r) => setTimeout(r, 30))
    add('c')
    await waitFor(() => late.size === 3)
    for (const [name, ms] of late) expect(ms, name).toBeGreaterThanOrEqual(0)
  })

  it('slack: 1/16 of the timeout, from 1 ms to 1 s', () => {
    expect(slackOf(5)).toBe(1)
    expect(slackOf(100)).toBe(6.25)
    expect(slackOf(30_000)).toBe(1000)
  })
})
