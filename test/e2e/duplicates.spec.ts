// The Duplicates view in Debian's Chromium against web mode, on a fixture library with planted
// copies: a photo re-saved three ways (smaller, quality 30, PNG), another cropped and re-encoded
// as WebP, two unrelated photos. The view shows exactly the planted groups, "not duplicates"
// survives a reload, stacking collapses the grid to one tile with a count, and the browser offers
// no way to delete a file.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { DEFAULT_THRESHOLDS } from '../../src/core/duplicates/defaults.ts'
import { createWebApi } from '../../src/shared/web-client.ts'
import { makePhotos } from '../fixtures/photos.ts'
import { buildWebRenderer, chromiumMissing, launchChromium, screenshot, serve, type Served } from './harness.ts'

/**
 * Another threshold than the shipped one that the planted copies pass and the fixture's distinct
 * photos do not: with the stored feature the weakest copy (the crop) is at about 0.94 to its
 * original, the closest distinct photos about 0.65.
 */
const THRESHOLD = 0.92

describe.skipIf(chromiumMissing)('Duplicates view in the browser', () => {
  let dir: string
  let served: Served
  let browser: Browser
  let page: Page
  const pageErrors: string[] = []

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lookalike-e2e-dups-'))
    buildWebRenderer()
    const photos = join(dir, 'photos')
    const made = await makePhotos(photos, { groups: 4, perGroup: 1, size: 320, subfolders: false })
    const [a, b] = made.map((m) => m.path)
    await sharp(a).resize(240).jpeg({ quality: 85 }).toFile(join(photos, 'a-smaller.jpg'))
    await sharp(a).jpeg({ quality: 30 }).toFile(join(photos, 'a-q30.jpg'))
    await sharp(a).png().toFile(join(photos, 'a-lossless.png'))
    await sharp(b).extract({ left: 16, top: 12, width: 304, height: 228 }).jpeg({ quality: 90 }).toFile(join(photos, 'b-cropped.jpg'))
    await sharp(b).webp({ quality: 75 }).toFile(join(photos, 'b-messenger.webp'))
    served = await serve(join(dir, 'library.sqlite'))
    const url = new URL(served.url)
    const api = createWebApi(url.origin, url.searchParams.get('token')!)
    await api.addRoot({ path: photos })
    const deadline = Date.now() + 240_000
    for (;;) {
      // a busy server may drop an idle keep-alive connection under the client: ask again
      const s = await api.status({}).catch(() => null)
      if (s && s.photos === 9 && s.model && s.jobs.every((j) => j.state !== 'running' && j.state !== 'queued')) break
      if (Date.now() > deadline) throw new Error(`library not ready in 240 s: ${JSON.stringify(s)}`)
      await new Promise((r) => setTimeout(r, 500))
    }
    api.close()
    browser = await launchChromium()
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    page.on('pageerror', (err) => pageErrors.push(err.message))
    await page.goto(served.url)
  }, 300_000)

  afterAll(async () => {
    await browser?.close()
    await served?.stop()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  const groups = () => page.locator('[data-testid="duplicate-group"]')

  /** Each group's file names, sorted, groups in the order shown. */
  async function shown(): Promise<string[][]> {
    return groups().evaluateAll((els) =>
      els.map((g) =>
        [...g.querySelectorAll('[data-testid="duplicate-photo"] img')].map((img) => (img as HTMLImageElement).alt).sort(),
      ),
    )
  }

  async function setThreshold(value: number) {
    await page.locator('[data-testid="duplicates-threshold"]').evaluate((el: HTMLInputElement, v: number) => {
      el.value = String(v)
      el.dispatchEvent(new Event('input', { bubbles: true }))
    }, value)
  }

  async function openView() {
    await page.locator('[data-testid="duplicates-entry"]').click()
    await expect.poll(() => page.locator('[data-testid="duplicates-count"]').isVisible(), { timeout: 120_000 }).toBe(true)
  }

  const planted = [
    ['a-lossless.png', 'a-q30.jpg', 'a-smaller.jpg', 'group-0-photo-000.jpg'],
    ['b-cropped.jpg', 'b-messenger.webp', 'group-1-photo-000.jpg'],
  ]

  it('shows the planted copies as groups, largest first, with the keeper marked', async () => {
    await openView()
    // the view opens at the shipped threshold, which finds exactly the planted copies
    expect(Number(await page.locator('[data-testid="duplicates-threshold"]').inputValue())).toBe(DEFAULT_THRESHOLDS.duplicates)
    await expect.poll(shown, { timeout: 30_000 }).toEqual(planted)
    await setThreshold(THRESHOLD)
    await expect.poll(shown, { timeout: 30_000 }).toEqual(planted)
    // one keeper per group: the largest resolution, then the least compressed (flat artwork packs
    // smaller as PNG than as this JPEG, so the original JPEG has more bytes per pixel)
    const keepers = await groups().evaluateAll((els) =>
      els.map((g) => [...g.querySelectorAll('[data-testid="duplicate-photo"][data-keeper="true"] img')].map((img) => (img as HTMLImageElement).alt)),
    )
    expect(keepers[0]).toEqual(['group-0-photo-000.jpg'])
    expect(keepers[1]).toHaveLength(1)
    expect(keepers[1][0]).not.toBe('b-cropped.jpg')
    // resolution, size, format and path are shown for each copy
    await expect.poll(() => groups().first().locator('[data-testid="duplicate-photo"]').filter({ hasText: '240 × 180' }).count()).toBe(1)
    await expect.poll(() => groups().first().textContent()).toMatch(/PNG/)
    await screenshot(page, 'duplicates-01-groups')
  })

  it('regroups live as the threshold slider moves', async () => {
    await setThreshold(1)
    await expect.poll(async () => (await shown()).flat().length).toBeLessThan(7)
    await setThreshold(THRESHOLD)
    await expect.poll(async () => (await shown()).length).toBe(2)
  })

  it('remembers "not duplicates" and the threshold across a reload', async () => {
    await page.locator('[data-testid="duplicates-save-threshold"]').click()
    const second = groups().filter({ hasText: 'b-cropped.jpg' })
    await second.locator('[data-testid="dismiss-group"]').click()
    await expect.poll(shown).toEqual([['a-lossless.png', 'a-q30.jpg', 'a-smaller.jpg', 'group-0-photo-000.jpg']])
    await page.reload()
    await openView()
    await expect.poll(() => page.locator('[data-testid="duplicates-threshold"]').inputValue()).toBe(String(THRESHOLD))
    await expect.poll(shown).toEqual([['a-lossless.png', 'a-q30.jpg', 'a-smaller.jpg', 'group-0-photo-000.jpg']])
    await screenshot(page, 'duplicates-02-after-reload')
  })

  it('offers no delete in the browser: stacking and export instead', async () => {
    expect(await page.locator('[data-testid="trash-group"]').count()).toBe(0)
    expect(await page.locator('[data-testid="export-csv"]').isVisible()).toBe(true)
    await expect.poll(() => page.getByText('never deletes files').isVisible()).toBe(true)
  })

  it('stacking collapses the copies to one tile with a count', async () => {
    await groups().first().locator('[data-testid="stack-group"]').click()
    await expect.poll(() => groups().count()).toBe(0)
    await page.locator('[data-testid="all-photos"]').click()
    const tiles = page.locator('[data-testid="photo-tile"]')
    await expect.poll(() => tiles.count(), { timeout: 30_000 }).toBe(6)
    await expect.poll(() => page.locator('[data-testid="stack-count"]').allTextContents()).toEqual(['4'])
    const titles = await tiles.evaluateAll((els) => els.map((el) => el.getAttribute('title')))
    expect(titles).toContain('group-0-photo-000.jpg')
    for (const hidden of ['a-q30.jpg', 'a-smaller.jpg', 'a-lossless.png']) expect(titles).not.toContain(hidden)
    await screenshot(page, 'duplicates-03-stacked-grid')
    expect(pageErrors).toEqual([])
  })
})
