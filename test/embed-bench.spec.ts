// `lookalike bench index` runs the real pipeline in a child process and prints its JSON report.
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import sharp from 'sharp'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { FEATURE, backboneId } from '../src/core/embed/backbone.ts'

const run = promisify(execFile)
const dir = mkdtempSync(join(tmpdir(), 'lookalike-bench-index-'))

beforeAll(async () => {
  for (let i = 0; i < 6; i++) {
    await sharp({ create: { width: 1600, height: 1200, channels: 3, background: { r: 40 * i, g: 200 - 30 * i, b: 90 }, noise: { type: 'gaussian', mean: 128, sigma: 30 } } })
      .jpeg()
      .toFile(join(dir, `photo-${i}.jpg`))
  }
})

afterAll(() => rmSync(dir, { recursive: true, force: true }))

it('reports photos, rate, time per stage, backend and memory as JSON', async () => {
  const { stdout } = await run(process.execPath, ['bin/lookalike.js', 'bench', 'index', dir, '--json', '--threads', '2', '--backend', 'wasm'], { timeout: 120_000 })
  const report = JSON.parse(stdout.trim().split('\n').at(-1)!)
  expect(report).toMatchObject({ photos: 6, failed: 0, backend: 'wasm', workers: 2 })
  expect(report.photos_per_second).toBeGreaterThan(0)
  expect(report.seconds).toBeGreaterThan(0)
  for (const stage of ['decode', 'embed', 'write']) expect(report.stage_ms[stage]).toBeGreaterThanOrEqual(0)
  expect(report.stage_ms.embed).toBeGreaterThan(0)
  expect(report.rss_mb).toBeGreaterThan(50)
  expect(report.backbone).toBe(backboneId(FEATURE))
})

it('says how to use it when the folder is missing', async () => {
  await expect(run(process.execPath, ['bin/lookalike.js', 'bench', 'index', '--json'])).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('usage: lookalike bench index <folder>') })
  await expect(run(process.execPath, ['bin/lookalike.js', 'bench', 'index', join(dir, 'nope')])).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('not a folder') })
})

it('ends with a one-line error when a forced backend is unavailable', async () => {
  const env = { ...process.env, LOOKALIKE_BACKEND: 'tpu' }
  const failure = await run(process.execPath, ['bin/lookalike.js', 'bench', 'index', dir, '--json'], { env, timeout: 60_000 }).catch((err: { code: number; stderr: string }) => err)
  expect(failure).toMatchObject({ code: 2 })
  expect((failure as { stderr: string }).stderr.trim()).toBe('lookalike: unknown backend "tpu": use one of node-gpu, node, wasm, cpu')
})
