// Live training-loss chart as SVG paths: no chart library, one polyline per loss term.

export interface LossPoint {
  /** The epoch (1, 2, …) the losses were measured at. */
  step: number
  loss: Record<string, number>
  /** Measured in the final pass, when the head learns again from every album photo. */
  finalPass?: true
}

export interface ChartSeries {
  name: string
  path: string
  last: number
}

/**
 * Paths scaled into a width×height box. Each term is scaled to its own largest value: the terms
 * differ by orders of magnitude, and what matters is whether each one is still falling (the
 * legend gives the values).
 */
export function lossSeries(points: LossPoint[], width: number, height: number): ChartSeries[] {
  if (points.length === 0) return []
  const names = [...new Set(points.flatMap((p) => Object.keys(p.loss)))]
  const maxStep = Math.max(1, points[points.length - 1].step)
  return names.map((name) => {
    const pts = points.filter((p) => Number.isFinite(p.loss[name]))
    const maxY = Math.max(1e-9, ...pts.map((p) => Math.abs(p.loss[name])))
    const path = pts
      .map((p, i) => {
        const x = (p.step / maxStep) * width
        const y = height - (p.loss[name] / maxY) * height
        return `${i === 0 ? 'M' : 'L'}${x.toFixed(1)},${y.toFixed(1)}`
      })
      .join(' ')
    return { name, path, last: pts.length ? pts[pts.length - 1].loss[name] : NaN }
  })
}

/** Up to `count` whole-epoch ticks from 1 to the last epoch, evenly spread, both ends included. */
export function epochTicks(lastStep: number, count = 5): number[] {
  const last = Math.max(1, Math.round(lastStep))
  if (last <= count) return Array.from({ length: last }, (_, i) => i + 1)
  const ticks = new Set<number>()
  for (let i = 0; i < count; i++) ticks.add(Math.round(1 + ((last - 1) * i) / (count - 1)))
  return [...ticks]
}

/** The point nearest to x (in the chart's width-scaled coordinates): what hovering shows. */
export function nearestPoint(points: LossPoint[], x: number, width: number): LossPoint | null {
  if (points.length === 0) return null
  const maxStep = Math.max(1, points[points.length - 1].step)
  let best = points[0]
  for (const p of points) if (Math.abs((p.step / maxStep) * width - x) < Math.abs((best.step / maxStep) * width - x)) best = p
  return best
}

/** Every term changed by less than what three decimals show: a retrain that changed nothing measurable. */
export function unchangedMap(before: Record<string, number | null>, after: Record<string, number | null>): boolean {
  const lengths = [...new Set([...Object.keys(before), ...Object.keys(after)])]
  const compared = lengths.filter((l) => before[l] != null && after[l] != null)
  return compared.length > 0 && compared.length === lengths.length && compared.every((l) => Math.abs(after[l]! - before[l]!) < 0.0005)
}

/** The first step of the final pass, where the losses start again from a fresh head; null without one. */
export function finalPassStep(points: readonly LossPoint[]): number | null {
  return points.find((p) => p.finalPass)?.step ?? null
}
