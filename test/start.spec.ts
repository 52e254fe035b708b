// `npm start` where the Electron binary could not be downloaded: one clear line, pointing to web mode.
import { spawnSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { electronBinary } from '../scripts/electron-binary.js'

describe('npm start', () => {
  it.skipIf(electronBinary() !== null)('explains in one line that Electron is missing and points to web mode', () => {
    const run = spawnSync(process.execPath, ['scripts/start.js'], { encoding: 'utf8' })
    expect(run.status).toBe(1)
    const lines = run.stderr.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/Electron binary is not installed/)
    expect(lines[0]).toMatch(/lookalike serve/)
  })
})
