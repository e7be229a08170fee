import { defineRpc, EchoError } from '@echostream/kernel'

export const add = defineRpc<{ a: number; b: number }, number>('math.add', ({ a, b }) => a + b, {
  schema: {
    type: 'object',
    required: ['a', 'b'],
    additionalProperties: false,
    properties: { a: { type: 'number' }, b: { type: 'number' } },
  },
})

export const divide = defineRpc<{ a: number; b: number }, number>('math.divide', ({ a, b }) => {
  if (b === 0) throw new EchoError('E_DIVIDE_BY_ZERO', 'Cannot divide by zero: pass a non-zero b.')
  return a / b
})

/** A slow method that stops as soon as the caller cancels or times out. */
export const countTo = defineRpc<{ n: number }, number>('math.countTo', async ({ n }, { signal }) => {
  for (let i = 0; i < n; i++) {
    if (signal.aborted) throw signal.reason
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  return n
})
