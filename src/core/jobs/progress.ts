// Rate and ETA from a stream of done/total counts, over a sliding window so a slow start or a
// burst of skipped files does not distort the estimate for long.
export class ProgressMeter {
  private samples: { t: number; done: number }[] = []

  constructor(
    private readonly windowMs = 10_000,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** Items per second and seconds left, or nulls until there is enough to tell. */
  update(done: number, total: number): { rate: number | null; eta: number | null } {
    const t = this.now()
    this.samples.push({ t, done })
    while (this.samples.length > 2 && t - this.samples[0].t > this.windowMs) this.samples.shift()
    const first = this.samples[0]
    const seconds = (t - first.t) / 1000
    if (seconds <= 0 || done <= first.done) return { rate: null, eta: null }
    const rate = (done - first.done) / seconds
    return { rate, eta: Math.max(0, (total - done) / rate) }
  }
}
