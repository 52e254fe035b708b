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
