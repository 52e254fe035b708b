// A small library of real JPEGs in visually distinct groups: each group shares a colour scheme and
// a shape, each photo varies position, size and brightness, so look-alikes are unambiguous.
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'

export interface FixtureGroup {
  name: string
  files: string[]
}

const SIZE = 160

type Painter = (x: number, y: number, v: Variation) => [number, number, number]
interface Variation {
  cx: number
  cy: number
  r: number
  light: number
}

const painters: Record<string, Painter> = {
  // red disc on warm sand
  sunsets: (x, y, v) => ((x - v.cx) ** 2 + (y - v.cy) ** 2 < v.r ** 2 ? [230, 60, 40] : [240, 200, 130]),
  // blue and white horizontal stripes
  seaside: (x, y, v) => (Math.floor((y + v.cy) / (8 + v.r / 8)) % 2 ? [30, 80, 200] : [235, 240, 250]),
  // green checkerboard
  meadows: (x, y, v) => ((Math.floor((x + v.cx) / (12 + v.r / 6)) + Math.floor((y + v.cy) / (12 + v.r / 6))) % 2 ? [40, 150, 60] : [20, 70, 30]),
  // dark square with a yellow diagonal
  nights: (x, y, v) => (Math.abs(x - y - (v.cx - v.cy) / 2) < 10 + v.r / 10 ? [250, 220, 40] : [25, 25, 45]),
}

export const GROUPS = Object.keys(painters)

function rng(seed: number): () => number {
  let s = seed >>> 0
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32)
}

/** Writes `perGroup` JPEGs per group under `dir/<group>/`. */
export async function writeFixtureLibrary(dir: string, perGroup = 10, seed = 7): Promise<FixtureGroup[]> {
  const random = rng(seed)
  const groups: FixtureGroup[] = []
  for (const [name, paint] of Object.entries(painters)) {
    mkdirSync(join(dir, name), { recursive: true })
    const files: string[] = []
    for (let i = 0; i < perGroup; i++) {
      const v: Variation = { cx: 40 + random() * 80, cy: 40 + random() * 80, r: 25 + random() * 35, light: 0.8 + random() * 0.4 }
      const pixels = Buffer.alloc(SIZE * SIZE * 3)
      for (let y = 0; y < SIZE; y++)
        for (let x = 0; x < SIZE; x++) {
          const [r, g, b] = paint(x, y, v)
          const noise = (random() - 0.5) * 30
          const o = (y * SIZE + x) * 3
          pixels[o] = Math.max(0, Math.min(255, r * v.light + noise))
          pixels[o + 1] = Math.max(0, Math.min(255, g * v.light + noise))
          pixels[o + 2] = Math.max(0, Math.min(255, b * v.light + noise))
        }
      const file = join(dir, name, `${name}-${String(i + 1).padStart(2, '0')}.jpg`)
      await sharp(pixels, { raw: { width: SIZE, height: SIZE, channels: 3 } }).jpeg({ quality: 88 }).toFile(file)
      files.push(file)
    }
    groups.push({ name, files })
  }
  return groups
}
