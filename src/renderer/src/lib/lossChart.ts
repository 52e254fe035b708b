// Live training-loss chart as SVG paths: no chart library, one polyline per loss term.

export interface LossPoint {
  step: number
  loss: Record<string, number>
}

export interface ChartSeries {
  name: string
  path: string
  last: number
}

/** Paths scaled into a width×height box; y is linear from 0 to the largest value seen. */
export function lossSeries(points: LossPoint[], width: number, height: number): ChartSeries[] {
  if (points.length === 0) return []
  const names = [...new Set(points.flatMap((p) => Object.keys(p.loss)))]
  const maxY = Math.max(1e-9, ...points.flatMap((p) => Object.values(p.loss).filter(Number.isFinite)))
  const maxStep = Math.max(1, points[points.length - 1].step)
  return names.map((name) => {
    const pts = points.filter((p) => Number.isFinite(p.loss[name]))
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
