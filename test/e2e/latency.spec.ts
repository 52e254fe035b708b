// With 100,000 photos indexed, click → similar grid painted, measured in the browser.
// Prints JSON; never fails on a number (the machine may be slow), only on broken behaviour.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { buildLargeLibrary, type LargeLibrary } from './large-library.ts'
import { buildWebRenderer, chromiumMissing, launchChromium, screenshot, serve, type Served } from './harness.ts'

const TARGET_MS = 150

describe.skipIf(chromiumMissing)('100,000 photos in the browser', () => {
  let dir: string
  let library: LargeLibrary
  let served: Served
  let browser: Browser
  let page: Page

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lookalike-100k-'))
    buildWebRenderer()
    library = await buildLargeLibrary(dir)
    served = await serve(library.dbFile, ['--no-watch'])
    browser = await launchChromium()
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
    await page.goto(served.url)
  })

  afterAll(async () => {
    await browser?.close()
    await served?.stop()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  /** Clicks tile `index` and resolves when its similar results are in the DOM and a frame has painted. */
  function clickToPaint(index: number): Promise<number> {
    return page.evaluate(
      (index) =>
        new Promise<number>((resolve, reject) => {
          const tile = document.querySelector<HTMLElement>(`[data-testid="photo-tile"][data-index="${index}"]`)
          if (!tile) return reject(new Error(`tile ${index} is not on screen`))
          const id = tile.dataset.photoId
          const started = performance.now()
          const check = () => {
            const panel = document.querySelector<HTMLElement>('[data-testid="similar-panel"]')
            if (!panel || panel.dataset.query !== id || panel.dataset.state !== 'ready' || !document.querySelector('[data-testid="similar-result"]')) return
            observer.disconnect()
            // Two frames: the first runs before paint, the second after it.
            requestAnimationFrame(() => requestAnimationFrame(() => resolve(performance.now() - started)))
          }
          const observer = new MutationObserver(check)
          observer.observe(document.body, { subtree: true, childList: true, attributes: true })
          tile.click()
        }),
      index,
    )
  }

  it('keeps the grid virtual and measures click → similar grid painted', async () => {
    const tiles = page.locator('[data-testid="photo-tile"]')
    await expect.poll(() => page.locator('[data-testid="photo-count"]').textContent(), { timeout: 60_000 }).toBe('100,000 photos')
    await expect.poll(() => tiles.count(), { timeout: 30_000 }).toBeGreaterThan(10)
    // Only the rows on screen are in the DOM, not 100,000 tiles.
    expect(await tiles.count()).toBeLessThan(400)

    // Scroll to the end of the library: the last photos appear without loading everything.
    const scrollStart = Date.now()
    await page.locator('[role="grid"]').evaluate((el) => (el.scrollTop = el.scrollHeight))
    await expect.poll(() => page.locator(`[data-testid="photo-tile"][data-index="${library.photos - 1}"] img`).count(), { timeout: 30_000 }).toBe(1)
    const scrollToEndMs = Date.now() - scrollStart
    await page.locator('[role="grid"]').evaluate((el) => (el.scrollTop = 0))
    await expect.poll(() => page.locator('[data-testid="photo-tile"][data-index="0"] img').count()).toBe(1)

    // The first click also asks for precisionInfo (latency and mAP per setting), which the server
    // measures on first use: timed apart from the clicks that follow.
    const firstClickMs = await clickToPaint(0)
    const infoStart = Date.now()
    await expect.poll(() => page.locator('[data-testid="precision-slider"] ~ .measured').textContent(), { timeout: 120_000 }).toMatch(/\d/)
    const precisionInfoMs = Date.now() - infoStart
    const samples: number[] = []
    for (const index of [1, 5, 9, 14, 20, 3, 7, 11]) samples.push(await clickToPaint(index))
    const sorted = [...samples].sort((a, b) => a - b)
    const median = sorted[Math.floor(sorted.length / 2)]
    expect(await page.locator('[data-testid="similar-result"]').count()).toBeGreaterThan(10)
    await screenshot(page, '100k-similar')
    console.log(
      JSON.stringify({
        bench: 'click-to-similar-painted',
        photos: library.photos,
        precision: await page.locator('[data-testid="similar-panel"]').getAttribute('data-precision'),
        medianMs: Math.round(median * 10) / 10,
        minMs: Math.round(sorted[0] * 10) / 10,
        maxMs: Math.round(sorted[sorted.length - 1] * 10) / 10,
        samples: samples.map((s) => Math.round(s)),
        targetMs: TARGET_MS,
        withinTarget: median <= TARGET_MS,
        firstClickMs: Math.round(firstClickMs),
        precisionInfoMs,
        scrollToEndMs,
        libraryBuildSeconds: Math.round(library.buildSeconds),
      }),
    )
  })
})
