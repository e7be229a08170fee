import { defineConfig } from '@echostream/kernel'

export default defineConfig({
  preset: '@echostream/preset-realtime',
  options: {
    // PORT=5000 pnpm server pins the port; the demo lets the OS pick one.
    'transport-ws': { port: '${PORT:-0}', host: '127.0.0.1' },
  },
  // session.ts: the RPCs that start a round (audio.join) and expose the measuring reference;
  // audio.ts: the stream handler that plays both streams out and aligns them.
  handlers: ['./handlers/session.ts', './handlers/audio.ts'],
})
