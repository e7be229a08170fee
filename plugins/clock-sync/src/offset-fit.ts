/**
 * Offset fits over accepted probe samples. Both work on the two one-way "raw delays" of a sample,
 * not on its offset θ, because that is where the queueing noise is one-sided:
 *
 *   forward  f = t2 − t1 = θ(t1) + cF + qF     reverse  r = t4 − t3 = −θ(t4) + cR + qR
 *
 * with cF, cR the fixed path delays and qF, qR ≥ 0 the queueing. Averaging (least squares) keeps
 * the mean of q in the estimate and shrinks its spread only as 1/√n; taking the lower envelope
 * removes q and converges as 1/n. The symmetric-path assumption (cF = cR) is the only one made,
 * and no estimator can avoid it (REALTIME.md: an asymmetric path biases θ by (cF − cR)/2).
 */

/** What the fits need from one accepted exchange. Times are local µs. */
export interface FitSample {
  readonly t1: number
  readonly t4: number
  /** t2 − t1 (peer arrival stamp minus local send stamp). */
  readonly forwardUs: number
  /** t4 − t3 (local arrival stamp minus peer send stamp). */
  readonly reverseUs: number
}

/**
 * θ(t) = offsetUs + slope · (t − originUs); slope is dimensionless (1e-6 = 1 ppm). The data prove
 * θ(t) lies within ± halfWidthUs of it (half the fastest round trip implied; negative when the
 * samples contradict one another, e.g. under unmodelled drift).
 */
export interface OffsetLine {
  readonly originUs: number
  readonly offsetUs: number
  readonly slope: number
  readonly halfWidthUs: number
}

/** Slope resolution of the search: 1e-6 ppm, i.e. < 0.001 µs over ten minutes. */
const SLOPE_RESOLUTION = 1e-12

/**
 * Constant offset from a set of samples: the midpoint of the intersection of their correctness
 * intervals. Each sample proves θ ∈ [θi − δi/2, θi + δi/2] = [−ri, fi] (delays cannot be negative),
 * so the intersection is [−min r, min f]. Its midpoint uses the fastest forward and the fastest
 * reverse trip even when they come from different probes, which the single minimum-δ sample of
 * NTP's clock filter cannot: with exponential queueing it halves the median error.
 */
export function intervalIntersection(samples: readonly FitSample[]): { offsetUs: number; halfWidthUs: number } {
  let minForward = Infinity
  let minReverse = Infinity
  for (const s of samples) {
    if (s.forwardUs < minForward) minForward = s.forwardUs
    if (s.reverseUs < minReverse) minReverse = s.reverseUs
  }
  return { offsetUs: (minForward - minReverse) / 2, halfWidthUs: (minForward + minReverse) / 2 }
}

/**
 * Offset and skew from the lower envelopes of both directions with one shared slope: the linear
 * program "lines below every point, least total distance above them" (Moon, Skelly & Towsley's
 * one-way skew estimator, applied to both directions at once). For a slope b the best lines sit at
 * F(b) = min(fi − b·xi) and R(b) = min(ri + b·xi); the total distance is minimised by the b that
 * maximises F(b) + R(b), a concave piecewise-linear function, found by ternary search within
 * ±maxSlope. Centring x on `originUs` keeps b·x far from the 2^53 limit of epoch microseconds
 * (the optimum itself does not depend on the origin).
 */
export function envelopeFit(samples: readonly FitSample[], originUs: number, maxSlope: number): OffsetLine {
  let lo = -maxSlope
  let hi = maxSlope
  while (hi - lo > SLOPE_RESOLUTION) {
    const m1 = lo + (hi - lo) / 3
    const m2 = hi - (hi - lo) / 3
    const g1 = envelopeHeight(samples, originUs, m1)
    const g2 = envelopeHeight(samples, originUs, m2)
    // Equal heights bracket the maximum of a concave function from both sides; shrinking both
    // ends also makes data with no time spread settle on slope 0 instead of on a bound.
    if (g1 < g2) lo = m1
    else if (g1 > g2) hi = m2
    else {
      lo = m1
      hi = m2
    }
  }
  const slope = (lo + hi) / 2
  let forward = Infinity
  let reverse = Infinity
  for (const s of samples) {
    forward = Math.min(forward, s.forwardUs - slope * (s.t1 - originUs))
    reverse = Math.min(reverse, s.reverseUs + slope * (s.t4 - originUs))
  }
  return { originUs, offsetUs: (forward - reverse) / 2, slope, halfWidthUs: (forward + reverse) / 2 }
}

function envelopeHeight(samples: readonly FitSample[], originUs: number, slope: number): number {
  let forward = Infinity
  let reverse = Infinity
  for (const s of samples) {
    const f = s.forwardUs - slope * (s.t1 - originUs)
    const r = s.reverseUs + slope * (s.t4 - originUs)
    if (f < forward) forward = f
    if (r < reverse) reverse = r
  }
  return forward + reverse
}
