import { defineConfig } from '@echostream/kernel'

export default defineConfig({
  preset: '@echostream/preset-default',
  options: {
    // PORT=5000 npm run server pins the port; the demo lets the OS pick one.
    'transport-ws': { port: '${PORT:-0}', host: '127.0.0.1' },
  },
  handlers: ['./handlers/math.ts', './handlers/chat.ts'],
})
