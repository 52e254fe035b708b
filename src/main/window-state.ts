// The window reopens where and as large as it was left, unless that place is off every screen now.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'

export interface Bounds {
  x: number
  y: number
  width: number
  height: number
}

export interface WindowState {
  bounds: Partial<Bounds> & { width: number; height: number }
  maximized: boolean
}

export const DEFAULT_STATE: WindowState = { bounds: { width: 1280, height: 820 }, maximized: false }
export const MIN_SIZE = { width: 760, height: 480 }

export function loadWindowState(file: string): WindowState {
  try {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as Partial<WindowState>
    const b = saved.bounds
    const ok = (n: unknown) => typeof n === 'number' && Number.isFinite(n)
    if (!b || !ok(b.width) || !ok(b.height)) return DEFAULT_STATE
    const bounds: WindowState['bounds'] = { width: Math.max(MIN_SIZE.width, b.width), height: Math.max(MIN_SIZE.height, b.height) }
    if (ok(b.x) && ok(b.y)) Object.assign(bounds, { x: b.x, y: b.y })
    return { bounds, maximized: saved.maximized === true }
  } catch {
    return DEFAULT_STATE
  }
}

export function saveWindowState(file: string, state: WindowState): void {
  mkdirSync(dirname(file), { recursive: true })
  // Write then rename: a crash mid-write leaves the previous state, not half a file.
  writeFileSync(`${file}.tmp`, JSON.stringify(state))
  renameSync(`${file}.tmp`, file)
}

/**
 * Keeps the saved size but drops the saved position when the window's title bar would not be on
 * any display (a monitor was unplugged); the size shrinks to fit the largest display.
 */
export function fitToDisplays(state: WindowState, workAreas: Bounds[]): WindowState {
  if (workAreas.length === 0) return state
  const largest = workAreas.reduce((a, b) => (a.width * a.height >= b.width * b.height ? a : b))
  const width = Math.min(state.bounds.width, largest.width)
  const height = Math.min(state.bounds.height, largest.height)
  const { x, y } = state.bounds
  if (x === undefined || y === undefined) return { ...state, bounds: { width, height } }
  const titleBarVisible = workAreas.some((a) => x + 100 > a.x && x + 100 < a.x + a.width && y >= a.y && y + 30 < a.y + a.height)
  return { ...state, bounds: titleBarVisible ? { x, y, width, height } : { width, height } }
}
