/**
 * What the devtools plugin's `devtools.snapshot` returns and `devtools.update` pushes: the contract
 * between @echostream/plugin-devtools (which builds it) and its readers, the page and
 * @echostream/node's `echostream status` / `inspect --url` / `call` hints. Types only (no bytes in
 * a bundle). It lives here because the kernel is the one package both sides depend on: the CLI must
 * not depend on a plugin, and the plugin not on the Node CLI package. The plugin re-exports it.
 * Lists are capped (the plugin's options `maxSessions`, `maxStreams`, `maxRooms`, `maxErrors`);
 * the `*Total` counts are always complete.
 */

export interface DevtoolsServerInfo {
  /** The app's name (option `name`, else the config folder's package.json). */
  name?: string
  /** The app's version (option `version`, else that package.json's, else the kernel's). */
  version: string
  kernelVersion: string
  pid: number
  /** Since the server started listening. */
  uptimeMs: number
  /** The WebSocket URL clients connect to. */
  url: string
  plugins: Array<{ name: string; version: string }>
  /** True from `drain()`/`stop()` on: new connections are refused. */
  draining: boolean
}

export interface DevtoolsSession {
  id: string
  peer: string
  state: string
  /** Epoch ms. */
  createdAt: number
  /** A devtools client (the page, `echostream status`). */
  devtools: boolean
  rooms: string[]
  /** RPC requests this session made, events it emitted; frames and bytes both ways. */
  calls: number
  events: number
  framesIn: number
  framesOut: number
  bytesIn: number
  bytesOut: number
  /** Bytes waiting to go to the peer (socket buffer + plugin queues). */
  outboundBytes: number
  /** The client's clock as it reported it (clock-sync), or null. */
  clock: DevtoolsClockReading | null
}

export interface DevtoolsRoom {
  name: string
  members: number
  /** Member session ids (at most 50). */
  sessions: string[]
}

export interface DevtoolsStream {
  session: string
  id: number
  name: string
  /** `out`: the server writes (a writer); `in`: the server reads. */
  direction: 'out' | 'in'
  state: string
  /** Credit bytes: sent/received so far, the limit granted, and what is left of it. */
  offset: number
  maxOffset: number
  credit: number
  window: number
  /** Bytes queued at the writer / unread at the reader. */
  queuedBytes: number
  /**
   * What the stream waits for: a writer `stream-credit`, `connection-credit` or `socket`; a reader
   * `application` (data arrived, unread) or `peer` (its credit is used up and the sender is blocked);
   * null when it waits for nothing.
   */
  waitingFor: string | null
}

export interface DevtoolsClockReading {
  /** What to add to the client's clock to read the server's, µs; the best probe's round trip, µs. */
  offsetUs: number
  rttUs: number
  jitterUs: number
  samples: number
}

export interface DevtoolsClock {
  /** Whether clock-sync is loaded on the server. */
  available: boolean
  /** The server's clock (µs, the timebase clients sync to). */
  serverNowUs: number
  /** Sessions that reported a reading. */
  reporting: number
  offsetUs: { min: number; median: number; max: number } | null
  rttUs: { min: number; median: number; max: number } | null
}

export interface DevtoolsRates {
  /** The window the per-second rates are averaged over. */
  windowMs: number
  callsPerSec: number
  eventsPerSec: number
  framesInPerSec: number
  framesOutPerSec: number
  bytesInPerSec: number
  bytesOutPerSec: number
  /** Since the plugin started. */
  callsTotal: number
  errorsTotal: number
  /** Per method, busiest first (at most 50). */
  methods: Array<{ method: string; calls: number; perSec: number }>
}

export interface DevtoolsError {
  /** Epoch ms. */
  at: number
  code: string
  message: string
  /** `protocol` (bad frames, refused handshakes), `rpc` (an error reply the server sent). */
  source: 'protocol' | 'rpc'
  session?: string
  peer?: string
}

export interface DevtoolsSnapshot {
  /** Epoch ms when it was taken. */
  at: number
  server: DevtoolsServerInfo
  sessionsTotal: number
  sessions: DevtoolsSession[]
  roomsTotal: number
  rooms: DevtoolsRoom[]
  streamsTotal: number
  streams: DevtoolsStream[]
  clock: DevtoolsClock
  rates: DevtoolsRates
  /** Newest first. */
  errors: DevtoolsError[]
}
