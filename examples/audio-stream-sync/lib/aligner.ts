/**
 * Pairs the frames of two streams that should coincide and measures how well their synchronised
 * timestamps line them up. Both clients capture frame `seq` when their synchronised clock reads
 * `start + seq × 20 ms` (one agreed start instant, server time), so frame `seq` of one stream and
 * frame `seq` of the other are the pair. Pure: the server feeds it frames as the jitter buffer
 * releases them.
 *
 * For each pair it reports the **alignment error**. The server lines the streams up by wallTime,
 * i.e. it takes the two captures to be `wallA − wallB` apart; they really were `trueA − trueB`
 * apart (the reference clock); the difference is how far off that alignment is:
 *
 *   alignment error = (wallA − wallB) − (trueA − trueB) = (wallA − trueA) − (wallB − trueB)
 *
 * i.e. the difference of the two clients' clock-sync errors at capture. A frame captured late (a
 * timer that fired late) moves its wallTime and its true time together, so scheduling cancels
 * out: it shows as that stream's capture lateness (wallTime − its grid instant), not as
 * misalignment.
 */

export interface PlayedFrame {
  readonly seq: number
  /** Capture instant on the sender's synchronised clock, µs (server timebase). */
  readonly wallTime: number
  /** Capture instant on the reference clock, µs (server timebase). Measurement only. */
  readonly trueCaptureUs: number
}

export interface Pair {
  readonly seq: number
  /** (wallA − trueA) − (wallB − trueB), µs. */
  readonly alignmentUs: number
}

/** Unpaired frames more than this many seqs behind the newest are given up (the partner was lost). */
const PRUNE_SEQS = 50

export class Aligner {
  readonly #pending: [Map<number, PlayedFrame>, Map<number, PlayedFrame>] = [new Map(), new Map()]
  #unpaired = 0
  #newestSeq = Number.NEGATIVE_INFINITY

  /** Frames that found no partner (lost or late-dropped on the other stream). */
  get unpaired(): number {
    return this.#unpaired + this.#pending[0].size + this.#pending[1].size
  }

  /** Adds a frame of stream `side` (0 or 1); returns the pair it completes, if any. */
  add(side: 0 | 1, frame: PlayedFrame): Pair | undefined {
    const { seq } = frame
    const other = this.#pending[side === 0 ? 1 : 0]
    const partner = other.get(seq)
    if (partner) {
      other.delete(seq)
      const [a, b] = side === 0 ? [frame, partner] : [partner, frame]
      return { seq, alignmentUs: a.wallTime - a.trueCaptureUs - (b.wallTime - b.trueCaptureUs) }
    }
    this.#pending[side].set(seq, frame)
    if (seq > this.#newestSeq) {
      this.#newestSeq = seq
      this.#prune(seq - PRUNE_SEQS)
    }
    return undefined
  }

  #prune(below: number): void {
    for (const map of this.#pending) {
      for (const seq of map.keys()) {
        if (seq >= below) continue
        map.delete(seq)
        this.#unpaired++
      }
    }
  }
}
