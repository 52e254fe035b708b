// The commands people and scripts run: `lookalike serve --json` and `lookalike similar`, as real
// child processes on a real library.
import { spawn } from 'node:child_process'
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createService } from '../src/core/service.ts'
import type { LibraryEvent } from '../src/shared/types.ts'
import { cliBin, runCli } from './fixtures/cli.ts'
import { makePhotos, type MadePhoto } from './fixtures/photos.ts'

const lookalike = (args: string[]) => runCli(args)

describe('lookalike serve and similar', () => {
  let dir: string
  let dbFile: string
  let made: MadePhoto[]

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lookalike-cli-'))
    dbFile = join(dir, 'lib.sqlite')
    made = await makePhotos(join(dir, 'photos'), { groups: 2, perGroup: 6, size: 80 })
    const service = await createService({ dbFile, watch: false })
    const modelReady = new Promise<void>((r) => service.onEvent((e: LibraryEvent) => e.type === 'model-changed' && r()))
    await service.addRoot({ path: join(dir, 'photos') })
    await modelReady
    await service.close()
  })

  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('serve --port 0 --json prints exactly one URL line once it answers, and stops on SIGINT', async () => {
    const child = spawn(process.execPath, [cliBin, 'serve', '--db', dbFile, '--port', '0', '--json', '--no-watch'], { stdio: ['ignore', 'pipe', 'pipe'] })
    const lines: string[] = []
    const first = await new Promise<string>((resolveLine, reject) => {
      const timer = setTimeout(() => reject(new Error('no URL line in 60 s')), 60_000)
      createInterface({ input: child.stdout! }).on('line', (line) => {
        lines.push(line)
        clearTimeout(timer)
        resolveLine(line)
      })
      child.once('exit', (code) => reject(new Error(`serve exited with ${code}`)))
    })
    const { url } = JSON.parse(first) as { url: string }
    const parsed = new URL(url)
    expect(parsed.hostname).toBe('127.0.0.1')
    expect(Number(parsed.port)).toBeGreaterThan(0)
    const token = parsed.searchParams.get('token')!
    const status = await fetch(new URL('/api/status', parsed.origin), { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: '{}' })
    expect(((await status.json()) as { result: { photos: number } }).result.photos).toBe(made.length)
    const refused = await fetch(new URL('/api/status', parsed.origin), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' })
    expect(refused.status).toBe(401)

    const exited = new Promise<number | null>((r) => child.once('exit', r))
    child.kill('SIGINT')
    expect(await exited).toBe(0)
    expect(lines).toHaveLength(1)
  })

  it('similar ranks look-alikes of a photo given by id or path, and of an image outside the library', () => {
    const byId = lookalike(['similar', '1', '--db', dbFile, '--bits', '32', '--top', '5', '--json'])
    expect(byId.stderr).toBe('')
    const answer = JSON.parse(byId.stdout) as { query: number; precision: number; ms: number; results: { id: number; score: number; path: string }[] }
    expect(answer).toMatchObject({ query: 1, precision: 32 })
    expect(answer.results).toHaveLength(5)
    expect(answer.results.map((r) => r.id)).not.toContain(1)
    for (const r of answer.results) expect(made.map((m) => m.path)).toContain(r.path)
    // The similarity on one scale (estimated cosine), the raw ranking score beside it.
    for (const r of answer.results) {
      expect(r.score).toBeGreaterThanOrEqual(-1)
      expect(r.score).toBeLessThanOrEqual(1)
      expect(typeof (r as { raw?: unknown }).raw).toBe('number')
    }
    const text = lookalike(['similar', '1', '--db', dbFile, '--bits', '32', '--top', '2']).stdout.trim().split('\n')
    expect(text.slice(1).every((line) => /^\s*-?\d+\.\d %  \//.test(line))).toBe(true)

    const photo = made.find((m) => m.group === 1)!
    const byPath = JSON.parse(lookalike(['similar', photo.path, '--db', dbFile, '--bits', 'exact', '--top', '3', '--json']).stdout) as typeof answer
    expect(byPath.results.map((r) => r.path)).not.toContain(photo.path)
    expect(byPath.results.every((r) => made.find((m) => m.path === r.path)?.group === 1)).toBe(true)

    const outside = join(dir, 'outside.jpg')
    copyFileSync(photo.path, outside)
    const fromOutside = JSON.parse(lookalike(['similar', outside, '--db', dbFile, '--top', '3', '--json']).stdout) as typeof answer
    // The same picture is in the library: it comes first.
    expect(fromOutside.results[0].path).toBe(photo.path)
  })

  it('similar explains bad input in one line', () => {
    const bits = lookalike(['similar', '1', '--db', dbFile, '--bits', '12'])
    expect(bits.code).toBe(2)
    expect(bits.stderr.trim()).toBe('lookalike: --bits must be one of 8, 16, 24, 32, 40, 48, 56, 64 or exact, got "12"')
    const missing = lookalike(['similar', '999', '--db', dbFile])
    expect(missing.code).toBe(1)
    expect(missing.stderr.trim()).toBe('lookalike: No photo with id 999')
    const noLibrary = lookalike(['similar', '1', '--db', join(dir, 'none.sqlite')])
    expect(noLibrary.stderr).toMatch(/No library at/)
  })
})
