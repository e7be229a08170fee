/** Type tests for the public API (checked by `tsc -p tsconfig.tests.json`; nothing runs). */
import { expectTypeOf } from 'vitest'
import type { EchoKernel, Session } from '@echostream/kernel'
import { defineStream, type StreamFrame, type StreamReader, type StreamWriter, type StreamContext, type SessionStreamStats } from '@echostream/plugin-streams'

declare const kernel: EchoKernel
declare const session: Session

// kernel.streams and session.openStream come from module augmentation
expectTypeOf(kernel.streams.open<Uint8Array>('audio', { rate: 48000 })).toEqualTypeOf<Promise<StreamWriter<Uint8Array>>>()
expectTypeOf(session.openStream<string>('news')).toEqualTypeOf<Promise<StreamWriter<string>>>()
expectTypeOf(kernel.streams.stats()).toEqualTypeOf<SessionStreamStats>()

const unsubscribe = kernel.streams.handle<Buffer, { lang: string }>('news', async (stream, ctx) => {
  expectTypeOf(stream).toEqualTypeOf<StreamReader<Buffer>>()
  expectTypeOf(ctx).toEqualTypeOf<StreamContext<{ lang: string }>>()
  for await (const frame of stream) {
    expectTypeOf(frame).toEqualTypeOf<StreamFrame<Buffer>>()
    expectTypeOf(frame.wallTime).toBeNumber()
    expectTypeOf(frame.seq).toBeNumber()
  }
})
expectTypeOf(unsubscribe).toEqualTypeOf<() => void>()

declare const writer: StreamWriter<Uint8Array>
expectTypeOf(writer.write).parameters.toEqualTypeOf<[Uint8Array, ({ wallTime?: number } | undefined)?]>()
// @ts-expect-error a Uint8Array stream takes binary
void writer.write('text')

const definition = defineStream<Buffer>('audio', async (stream) => {
  expectTypeOf(stream).toEqualTypeOf<StreamReader<Buffer>>()
})
expectTypeOf(definition.kind).toEqualTypeOf<'stream'>()
