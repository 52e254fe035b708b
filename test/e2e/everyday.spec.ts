// What a person expects of a photo app, in Debian's Chromium against web mode: a folder chosen
// without typing, the clicked photo staying in view when the panel opens, a viewer, readable
// similarity scores, tagging from the results, search by an image from elsewhere, small windows,
// the keyboard, and Retrain's chart. Each step leaves a screenshot in test-results/.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { createWebApi } from '../../src/shared/web-client.ts'
import type { LookalikeApi } from '../../src/shared/contract.ts'
import { makePhotos, type MadePhoto } from '../fixtures/photos.ts'
import { buildWebRenderer, chromiumMissing, collectErrors, launchChromium, screenshot, serve, type Served } from './harness.ts'

const GROUPS = 4
const PER_GROUP = 60

describe.skipIf(chromiumMissing)('Lookalike as people expect it', () => {
  let dir: string
  let photos: MadePhoto[]
  let served: Served
  let browser: Browser
  let context: BrowserContext
  let page: Page
  let api: LookalikeApi
  let errors: string[]
  const groupOf = new Map<number, number>()

  beforeAll(async () => {
    // The server's user has this folder as home: the folder browser starts here.
    dir = mkdtempSync(join(tmpdir(), 'lookalike-everyday-'))
    buildWebRenderer()
    photos = await makePhotos(join(dir, 'Pictures'), { groups: GROUPS, perGroup: PER_GROUP, size: 64 })
    // The library (and its thumbnails) in a hidden folder: the browser lists visible folders only.
    mkdirSync(join(dir, '.lookalike'))
    served = await serve(join(dir, '.lookalike', 'library.sqlite'), [], { HOME: dir })
    const url = new URL(served.url)
    api = createWebApi(url.origin, url.searchParams.get('token')!)
    browser = await launchChromium()
    context = await browser.newContext({ viewport: { width: 1400, height: 900 } })
    page = await context.newPage()
    errors = collectErrors(page)
    await page.goto(served.url)
  })

  afterAll(async () => {
    await browser?.close()
    await served?.stop()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  const tiles = () => page.locator('[data-testid="photo-tile"]')
  const results = () => page.locator('[data-testid="similar-result"]')
  const panel = () => page.locator('[data-testid="similar-panel"]')
  /** Opens Retrain, starts it without deeper fine-tuning and waits for its summary. */
  async function retrainFromPanel() {
    await page.locator('[data-testid="retrain"]').click()
    const dialog = page.locator('[data-testid="retrain-panel"]')
    await expect.poll(() => dialog.getAttribute('data-state')).toBe('choosing')
    const finetune = dialog.getByRole('checkbox', { name: 'Deeper fine-tuning' })
    await expect.poll(() => finetune.isEnabled(), { timeout: 30_000 }).toBe(true)
    if (await finetune.isChecked()) await finetune.uncheck()
    await page.locator('[data-testid="start-train"]').click()
    await expect.poll(() => dialog.getAttribute('data-state'), { timeout: 240_000, interval: 500 }).toBe('done')
    return dialog
  }
  const activeTestId = () => page.evaluate(() => document.activeElement?.getAttribute('data-testid') ?? document.activeElement?.id ?? document.activeElement?.tagName)

  async function ready() {
    await expect.poll(() => panel().getAttribute('data-state'), { timeout: 60_000 }).toBe('ready')
  }

  /** Whether the centre of a photo tile lies inside the visible part of the grid. */
  async function tileCentreVisible(photoId: string): Promise<boolean> {
    return page.evaluate((id) => {
      const tile = document.querySelector(`[data-testid="photo-tile"][data-photo-id="${id}"]`)
      const grid = document.querySelector('[role="grid"]')
      if (!tile || !grid) return false
      const t = tile.getBoundingClientRect()
      const g = grid.getBoundingClientRect()
      const panelBox = document.querySelector('[data-testid="similar-panel"]')?.getBoundingClientRect()
      const x = t.left + t.width / 2
      const y = t.top + t.height / 2
      const underPanel = panelBox ? x >= panelBox.left && x <= panelBox.right && y >= panelBox.top && y <= panelBox.bottom : false
      return x >= g.left && x <= g.right && y >= g.top && y <= g.bottom && !underPanel
    }, photoId)
  }

  it('keeps a typed path that cannot be added, with the reason beside it, and expands ~', async () => {
    const field = page.locator('[data-testid="empty-library"] [data-testid="folder-path"]')
    await field.fill('~/no-such-folder')
    await page.locator('[data-testid="empty-library"] [data-testid="add-folder"]').click()
    const error = page.locator('[data-testid="add-folder-error"]')
    await expect.poll(() => error.textContent()).toContain(join(dir, 'no-such-folder'))
    // Still there well after the status bar's messages fade, and the path is not retyped.
    await page.waitForTimeout(6500)
    expect(await error.isVisible()).toBe(true)
    expect(await field.inputValue()).toBe('~/no-such-folder')
    await screenshot(page, 'everyday-01-path-error')
    await field.fill('~/no-such-folder2')
    expect(await error.count()).toBe(0)
    await field.fill('')
    // Chromium logs the deliberate 400 answer as a failed resource: that one was expected.
    expect(errors).toEqual(['console: Failed to load resource: the server responded with a status of 400 (Bad Request)'])
    errors.length = 0
  })

  it('adds a folder with the folder browser, without typing', async () => {
    await page.locator('[data-testid="empty-library"] [data-testid="browse-folders"]').click()
    const browserDialog = page.locator('[data-testid="folder-browser"]')
    await expect.poll(() => browserDialog.getAttribute('data-path')).toBe(dir)
    expect((await page.locator('[data-testid="folder-entry"]').allTextContents()).map((t) => t.trim())).toEqual(['Pictures'])
    await page.locator('[data-testid="folder-entry"]', { hasText: 'Pictures' }).click()
    await expect.poll(() => browserDialog.getAttribute('data-path')).toBe(join(dir, 'Pictures'))
    // Folders only: the photos inside are never listed.
    expect((await page.locator('[data-testid="folder-entry"]').allTextContents()).map((t) => t.trim())).toEqual(['group-0', 'group-1', 'group-2', 'group-3'])
    await screenshot(page, 'everyday-02-folder-browser')
    await page.locator('[data-testid="folder-choose"]').click()
    await expect.poll(() => tiles().count(), { timeout: 240_000, interval: 1000 }).toBeGreaterThan(0)
    await expect.poll(() => page.locator('[data-testid="view-count"]').textContent(), { timeout: 240_000, interval: 1000 }).toBe(`${GROUPS * PER_GROUP} photos`)
    const listed = await api.listPhotos({ sort: 'name', limit: 1000 })
    for (const p of listed.photos) groupOf.set(p.id, Number(/group-(\d+)/.exec(p.relPath)![1]))
    expect(groupOf.size).toBe(photos.length)
    // Every photo has its code before the searches below.
    await expect.poll(async () => (await api.status({})).model !== null && (await api.status({})).jobs.every((j) => j.state !== 'running'), { timeout: 120_000 }).toBe(true)
  })

  async function clickFarDownAndCheck(name: string) {
    await page.keyboard.press('Escape')
    await expect.poll(() => panel().count()).toBe(0)
    const grid = page.locator('[role="grid"]')
    await grid.evaluate((el) => (el.scrollTop = el.scrollHeight * 0.8))
    await page.waitForTimeout(200)
    // A tile in the lower half of the grid, where narrowing moves it most.
    const box = (await grid.boundingBox())!
    const tile = page.locator('[data-testid="photo-tile"]').filter({ has: page.locator('img') })
    const candidates = await tile.evaluateAll(
      (els, bottom) => els.filter((el) => el.getBoundingClientRect().top > bottom - 420 && el.getBoundingClientRect().bottom < bottom).map((el) => el.getAttribute('data-photo-id')!),
      box.y + box.height,
    )
    expect(candidates.length).toBeGreaterThan(0)
    const id = candidates.at(-1)!
    await page.locator(`[data-testid="photo-tile"][data-photo-id="${id}"]`).click()
    await ready()
    expect(await panel().getAttribute('data-query')).toBe(id)
    expect(await tileCentreVisible(id)).toBe(true)
    expect(await page.locator(`[data-testid="photo-tile"][data-photo-id="${id}"]`).getAttribute('class')).toMatch(/query/)
    await screenshot(page, name)
    return id
  }

  it('keeps the clicked photo in view when the panel opens, at 1400×900 and at 900×700', async () => {
    const wideId = await clickFarDownAndCheck('everyday-03-clicked-stays-1400')
    // Closing the panel widens the grid again: the photo stays in view.
    await page.keyboard.press('Escape')
    await expect.poll(() => panel().count()).toBe(0)
    expect(await tileCentreVisible(wideId)).toBe(true)
    await page.setViewportSize({ width: 900, height: 700 })
    await page.waitForTimeout(300)
    expect(await tileCentreVisible(wideId)).toBe(true)
    await clickFarDownAndCheck('everyday-03-clicked-stays-900')
    // Hiding and showing the sidebar keeps it in view too.
    await page.setViewportSize({ width: 1400, height: 900 })
    await page.keyboard.press('Escape')
    const id = await clickFarDownAndCheck('everyday-03-clicked-stays-back-1400')
    await page.locator('[data-testid="toggle-sidebar"]').click()
    await page.waitForTimeout(200)
    expect(await tileCentreVisible(id)).toBe(true)
    await page.locator('[data-testid="toggle-sidebar"]').click()
    await page.waitForTimeout(200)
    expect(await tileCentreVisible(id)).toBe(true)
  })

  it('shows one similarity scale, in percent, at every precision', async () => {
    await page.keyboard.press('Escape')
    await page.locator('[role="grid"]').evaluate((el) => (el.scrollTop = 0))
    await tiles().nth(3).click()
    await ready()
    const slider = page.locator('[data-testid="precision-slider"]')
    await slider.focus()
    await page.keyboard.press('Home')
    await expect.poll(() => panel().getAttribute('data-precision')).toBe('8')
    await ready()
    const at8 = await results().evaluateAll((els) => els.map((el) => ({ id: el.getAttribute('data-photo-id')!, score: Number(el.getAttribute('data-score')), raw: Number(el.getAttribute('data-raw')) })))
    const shown = await page.locator('[data-testid="similarity"]').first().textContent()
    expect(shown).toMatch(/^-?\d{1,3} %$/)
    expect(await page.locator('[data-testid="similarity"]').first().getAttribute('title')).toMatch(/raw score -?\d+\.\d{3}/)
    await screenshot(page, 'everyday-04-scores-8-bits')
    await page.keyboard.press('End')
    await expect.poll(() => panel().getAttribute('data-precision')).toBe('exact')
    await ready()
    const exact = new Map(await results().evaluateAll((els) => els.map((el) => [el.getAttribute('data-photo-id')!, Number(el.getAttribute('data-score'))] as [string, number])))
    for (const r of at8) {
      expect(r.score).toBeGreaterThanOrEqual(-1)
      expect(r.score).toBeLessThanOrEqual(1)
    }
    // The same photos score alike at 8 bits and exact (the raw 8-bit inner product is on another scale).
    const both = at8.filter((r) => exact.has(r.id))
    expect(both.length).toBeGreaterThan(10)
    const meanError = both.reduce((sum, r) => sum + Math.abs(r.score - exact.get(r.id)!), 0) / both.length
    expect(meanError).toBeLessThan(0.25)
    await screenshot(page, 'everyday-04-scores-exact')
  })

  it('explains every precision setting before any album exists: latency and overlap with exact', async () => {
    await page.locator('[data-testid="precision-measured"]').waitFor()
    await expect.poll(() => page.locator('[data-testid="precision-recall"]').textContent(), { timeout: 60_000 }).toBe("100 % of exact's top 20")
    expect(await page.locator('[data-testid="precision-measured"]').textContent()).not.toMatch(/mAP/)
    await panel().locator('summary', { hasText: 'All settings' }).click()
    const rows = await panel().locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent!.trim())))
    expect(rows).toHaveLength(9)
    for (const [setting, latency, recall] of rows) {
      expect(setting).toMatch(/^(\d+ bits|exact)$/)
      expect(latency).toMatch(/ms$/)
      expect(recall).toMatch(/^\d+ %$/)
    }
    await screenshot(page, 'everyday-05-precision-table')
    await panel().locator('summary', { hasText: 'All settings' }).click()
    await page.locator('[data-testid="precision-slider"]').focus()
    await page.keyboard.press('ArrowLeft')
    await expect.poll(() => panel().getAttribute('data-precision')).toBe('64')
    await ready()
  })

  /** Ctrl-clicks the first `n` results that share the query's group; returns their ids. */
  async function pickFromGroup(group: number, n: number): Promise<number[]> {
    const ids = (await results().evaluateAll((els) => els.map((el) => Number(el.getAttribute('data-photo-id'))))).filter((id) => groupOf.get(id) === group).slice(0, n)
    expect(ids).toHaveLength(n)
    for (const id of ids) await page.locator(`[data-testid="similar-result"][data-photo-id="${id}"]`).click({ modifiers: ['Control'] })
    return ids
  }

  it('tags three results into a new album from the panel, and takes a wrong one out again', async () => {
    const queryId = Number(await panel().getAttribute('data-query'))
    const group = groupOf.get(queryId)!
    const picked = await pickFromGroup(group, 3)
    await expect.poll(() => page.locator('[data-testid="result-actions"]').textContent()).toMatch(/3 selected/)
    await screenshot(page, 'everyday-06-results-picked')
    await page.locator('[data-testid="results-add-to-album"]').selectOption('new')
    await page.locator('[data-testid="results-album-name"]').fill('Look-alikes')
    await page.keyboard.press('Enter')
    const album = page.locator('[data-testid="album"]', { hasText: 'Look-alikes' })
    await expect.poll(() => album.locator('span.count').textContent()).toBe('3')
    const [created] = (await api.listAlbums({})).filter((a) => a.name === 'Look-alikes')
    expect((await api.listPhotos({ albumId: created.id })).photos.map((p) => p.id).sort()).toEqual([...picked].sort())
    // Results show the album they are in; one picked by mistake comes out again.
    await expect.poll(() => results().filter({ hasText: 'Look-alikes' }).count()).toBe(3)
    await page.locator(`[data-testid="similar-result"][data-photo-id="${picked[2]}"]`).click({ modifiers: ['Control'] })
    await page.locator('[data-testid="results-remove-from-album"]', { hasText: 'Look-alikes' }).click()
    await expect.poll(() => album.locator('span.count').textContent()).toBe('2')
    await screenshot(page, 'everyday-06-tagged')
    // "Select all shown" picks every result.
    await page.locator('[data-testid="select-all-results"]').click()
    expect(await page.locator('[data-testid="result-actions"]').textContent()).toMatch(new RegExp(`${await results().count()} selected`))
    await page.locator('[data-testid="result-actions"] button', { hasText: 'Clear' }).click()
  })

  it('shows a photo full size; the keyboard opens it, steps through, zooms and closes it', async () => {
    await page.keyboard.press('Escape')
    await expect.poll(() => panel().count()).toBe(0)
    await page.locator('[role="grid"]').evaluate((el) => (el.scrollTop = 0))
    await tiles().nth(0).click({ modifiers: ['Control'] })
    await tiles().nth(0).click({ modifiers: ['Control'] })
    const firstId = await tiles().nth(0).getAttribute('data-photo-id')
    const secondId = await tiles().nth(1).getAttribute('data-photo-id')
    await page.keyboard.press('Enter')
    const viewer = page.locator('[data-testid="viewer"]')
    await expect.poll(() => viewer.getAttribute('data-photo-id')).toBe(firstId)
    await expect.poll(() => page.locator('[data-testid="viewer-image"]').evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true)
    await expect.poll(() => page.locator('[data-testid="viewer-info"]').textContent()).toMatch(/Pictures\/group-\d\/photo-\d+\.jpg.*Taken.*Size.*Albums/)
    await screenshot(page, 'everyday-07-viewer')
    await page.keyboard.press('ArrowRight')
    await expect.poll(() => viewer.getAttribute('data-photo-id')).toBe(secondId)
    await page.keyboard.press('z')
    expect(await viewer.getAttribute('data-zoom')).toBe('actual')
    await screenshot(page, 'everyday-07-viewer-100')
    await page.keyboard.press('z')
    // Focus stays inside while it is open.
    for (let i = 0; i < 8; i++) await page.keyboard.press('Tab')
    expect(await page.evaluate(() => !!document.activeElement?.closest('[data-testid="viewer"]'))).toBe(true)
    await page.keyboard.press('Escape')
    await expect.poll(() => viewer.count()).toBe(0)
    // Back on the grid, at the photo the viewer was showing.
    expect(await page.evaluate(() => document.activeElement?.getAttribute('role'))).toBe('grid')
    expect(await page.locator('[data-testid="photo-tile"].focused').getAttribute('data-photo-id')).toBe(secondId)
    // "Find similar" from the viewer (F) opens the panel on that photo.
    await page.keyboard.press('Space')
    await expect.poll(() => viewer.getAttribute('data-photo-id')).toBe(secondId)
    await page.keyboard.press('f')
    await expect.poll(() => panel().getAttribute('data-query')).toBe(secondId)
    await ready()
  })

  it('searches by an image from elsewhere: the button and its file chooser, or a paste', async () => {
    const outside = photos.find((p) => p.group === 2)!
    await page.locator('[data-testid="image-file"]').setInputFiles(outside.path)
    await expect.poll(() => panel().getAttribute('data-query')).toBe('image')
    await ready()
    const top5 = (await results().evaluateAll((els) => els.map((el) => Number(el.getAttribute('data-photo-id'))))).slice(0, 5)
    expect(top5.filter((id) => groupOf.get(id) === 2).length).toBeGreaterThanOrEqual(3)
    await screenshot(page, 'everyday-08-search-by-image')
    await page.keyboard.press('Escape')
    await expect.poll(() => panel().count()).toBe(0)
    const pasted = photos.find((p) => p.group === 1)!
    await page.evaluate((base64) => {
      const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))
      const data = new DataTransfer()
      data.items.add(new File([bytes], 'pasted.jpg', { type: 'image/jpeg' }))
      document.body.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }))
    }, readFileSync(pasted.path).toString('base64'))
    await expect.poll(() => panel().getAttribute('data-query')).toBe('image')
    await ready()
    const pastedTop = (await results().evaluateAll((els) => els.map((el) => Number(el.getAttribute('data-photo-id'))))).slice(0, 5)
    expect(pastedTop.filter((id) => groupOf.get(id) === 1).length).toBeGreaterThanOrEqual(3)
    // The drop overlay's words read over photos in both themes.
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme })
      await page.evaluate(() => {
        const data = new DataTransfer()
        data.items.add(new File([new Uint8Array([1])], 'x.jpg', { type: 'image/jpeg' }))
        window.dispatchEvent(new DragEvent('dragover', { dataTransfer: data, cancelable: true }))
      })
      await page.locator('.drop').waitFor()
      const contrast = await page.locator('.drop div').evaluate((el) => {
        const style = getComputedStyle(el)
        const lum = (c: string) => {
          const [r, g, b] = c.match(/\d+/g)!.slice(0, 3).map((v) => Number(v) / 255).map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4))
          return 0.2126 * r + 0.7152 * g + 0.0722 * b
        }
        const [a, b] = [lum(style.color), lum(style.backgroundColor)].sort((x, y) => y - x)
        return (a + 0.05) / (b + 0.05)
      })
      expect(contrast).toBeGreaterThan(7)
      await screenshot(page, `everyday-08-drop-${scheme}`)
      await page.evaluate(() => window.dispatchEvent(new DragEvent('dragleave', { relatedTarget: null })))
      await expect.poll(() => page.locator('.drop').count()).toBe(0)
    }
    await page.emulateMedia({ colorScheme: null })
  })

  it('keeps every toolbar action reachable in a small window (800×600), the panel included', async () => {
    await page.keyboard.press('Escape')
    await page.setViewportSize({ width: 800, height: 600 })
    await tiles().nth(1).click()
    await ready()
    await tiles().nth(2).click({ modifiers: ['Control'] })
    const inside = (selector: string) =>
      page.locator(selector).evaluateAll((els) =>
        els.map((el) => {
          const r = el.getBoundingClientRect()
          return r.width > 0 && r.left >= 0 && r.top >= 0 && r.right <= innerWidth && r.bottom <= innerHeight
        }),
      )
    for (const action of ['[data-testid="toggle-sidebar"]', '[data-testid="add-to-album"]', '[data-testid="clear-selection"]', '[data-testid="search-by-image"]', '[data-testid="sort"]', '[data-testid="close-similar"]', '[data-testid="precision-slider"]']) {
      expect(await inside(action), action).toEqual([true])
    }
    // The grid keeps at least two columns beside the panel.
    const columns = await page.locator('[data-testid="photo-tile"]').evaluateAll((els) => new Set(els.map((el) => Math.round(el.getBoundingClientRect().left))).size)
    expect(columns).toBeGreaterThanOrEqual(2)
    await screenshot(page, 'everyday-09-small-window')
    // The sidebar (folders, albums, Retrain) is one click away.
    await page.locator('[data-testid="toggle-sidebar"]').click()
    expect(await inside('[data-testid="retrain"]')).toEqual([true])
    expect(await inside('[data-testid="new-album"]')).toEqual([true])
    await screenshot(page, 'everyday-09-small-window-sidebar')
    await page.keyboard.press('Escape')
    await expect.poll(() => page.locator('[data-testid="sidebar"]').count()).toBe(0)
    await page.locator('[data-testid="clear-selection"]').click()
    await page.setViewportSize({ width: 1400, height: 900 })
  })

  it('is usable from the keyboard: a skip link to the grid, the first arrow press on the first photo', async () => {
    await page.keyboard.press('Escape')
    await page.reload()
    await tiles().first().waitFor()
    await page.keyboard.press('Tab')
    expect(await activeTestId()).toBe('skip-to-photos')
    await screenshot(page, 'everyday-10-skip-link')
    await page.keyboard.press('Enter')
    expect(await page.evaluate(() => document.activeElement?.getAttribute('role'))).toBe('grid')
    await page.keyboard.press('ArrowRight')
    const first = await tiles().first().getAttribute('data-photo-id')
    expect(await page.locator('[data-testid="photo-tile"].focused').getAttribute('data-photo-id')).toBe(first)
    await page.keyboard.press('ArrowRight')
    expect(await page.locator('[data-testid="photo-tile"].focused').getAttribute('data-index')).toBe('1')
    await screenshot(page, 'everyday-10-keyboard-focus')
    // F finds similar; Esc closes the panel and gives focus back to the grid.
    await page.keyboard.press('f')
    await ready()
    await page.keyboard.press('Escape')
    expect(await page.evaluate(() => document.activeElement?.getAttribute('role'))).toBe('grid')
  })

  it('retrains with a chart that has axes and values on hover; unchanged albums retrain to "nothing changed"', async () => {
    // Retrain needs two albums of five photos: both filled from the results of a photo of their group.
    await page.keyboard.press('Escape')
    const lookalikes = (await api.listAlbums({})).find((a) => a.name === 'Look-alikes')!
    const members = (await api.listPhotos({ albumId: lookalikes.id })).photos.map((p) => p.id)
    const first = groupOf.get(members[0])!
    const second = (first + 1) % GROUPS
    await page.locator('nav .root button[aria-label="Expand"]').click()
    for (const [group, album] of [
      [first, 'Look-alikes'],
      [second, 'Others'],
    ] as const) {
      await page.locator('nav button.name', { hasText: `group-${group}` }).click()
      await expect.poll(() => page.locator('[data-testid="view-count"]').textContent()).toBe(`${PER_GROUP} photos`)
      const query = (await tiles().evaluateAll((els) => els.map((el) => Number(el.getAttribute('data-photo-id'))))).find((id) => !members.includes(id))!
      await page.locator(`[data-testid="photo-tile"][data-photo-id="${query}"]`).click()
      await ready()
      const ids = (await results().evaluateAll((els) => els.map((el) => Number(el.getAttribute('data-photo-id'))))).filter((id) => groupOf.get(id) === group && !members.includes(id)).slice(0, 5)
      expect(ids).toHaveLength(5)
      for (const id of ids) await page.locator(`[data-testid="similar-result"][data-photo-id="${id}"]`).click({ modifiers: ['Control'] })
      if (album === 'Look-alikes') await page.locator('[data-testid="results-add-to-album"]').selectOption({ label: album })
      else {
        await page.locator('[data-testid="results-add-to-album"]').selectOption('new')
        await page.locator('[data-testid="results-album-name"]').fill(album)
        await page.keyboard.press('Enter')
      }
      await expect.poll(async () => Number(await page.locator('[data-testid="album"]', { hasText: album }).locator('span.count').textContent())).toBeGreaterThanOrEqual(5)
      await page.keyboard.press('Escape')
    }
    for (const round of [1, 2]) {
      const dialog = await retrainFromPanel()
      // Axes with their names and ticks; hovering shows the values at an epoch.
      expect(await dialog.locator('[data-testid="chart-x-label"]').textContent()).toBe('epoch')
      expect(await dialog.locator('[data-testid="chart-y-label"]').textContent()).toMatch(/loss/)
      expect(await dialog.locator('[data-testid="chart-x-tick"]').count()).toBeGreaterThanOrEqual(2)
      const chart = (await dialog.locator('[data-testid="loss-chart"]').boundingBox())!
      await page.mouse.move(chart.x + chart.width * 0.6, chart.y + chart.height / 2)
      await expect.poll(() => dialog.locator('[data-testid="chart-hover"]').textContent()).toMatch(/^epoch \d+ .*\d/)
      await screenshot(page, `everyday-11-retrain-${round}`)
      // Both albums hold fewer than 10 photos: the summary says why the model stays close to the library's own grouping.
      expect(await dialog.locator('[data-testid="train-small-albums"]').textContent()).toMatch(/fewer than 10 photos/)
      expect(await dialog.locator('[data-testid="chart-final-pass"]').count()).toBe(0)
      if (round === 2) {
        expect(await dialog.locator('[data-testid="train-unchanged"]').textContent()).toMatch(/Nothing changed/)
        expect(await dialog.locator('[data-testid="train-summary"]').isVisible()).toBe(false)
      }
      await page.locator('[data-testid="close-train"]').click()
    }
    expect(errors).toEqual([])
  })

  it('with albums of 50 or more learns from every album photo, and a Retrain on changed albums says why it has no "before"', async () => {
    const albums = (await api.listAlbums({})).filter((a) => a.name === 'Look-alikes' || a.name === 'Others')
    expect(albums).toHaveLength(2)
    for (const album of albums) {
      // Each album's photos came from one group (the three tagged first may not): fill it with that group.
      const counts = new Map<number, number>()
      for (const p of (await api.listPhotos({ albumId: album.id })).photos) counts.set(groupOf.get(p.id)!, (counts.get(groupOf.get(p.id)!) ?? 0) + 1)
      const group = [...counts].sort((a, b) => b[1] - a[1])[0][0]
      await api.addToAlbum({ albumId: album.id, photoIds: [...groupOf].filter(([, g]) => g === group).map(([id]) => id) })
    }
    let dialog = await retrainFromPanel()
    // The chart marks where the head starts again on every album photo.
    expect(await dialog.locator('[data-testid="chart-final-pass"]').textContent()).toMatch(/every album photo/)
    expect(await dialog.locator('[data-testid="train-small-albums"]').count()).toBe(0)
    expect(await dialog.locator('[data-testid="train-before-seen"]').count()).toBe(0)
    await page.locator('[data-testid="close-train"]').click()
    // One photo fewer: other held-out photos, some of which the active model learned from.
    const one = (await api.listPhotos({ albumId: albums[0].id })).photos[0].id
    await api.removeFromAlbum({ albumId: albums[0].id, photoIds: [one] })
    dialog = await retrainFromPanel()
    expect(await dialog.locator('[data-testid="train-before-seen"]').textContent()).toMatch(/learned from every album photo/)
    const before = await dialog.locator('[data-testid="train-summary"] tbody tr td:nth-child(2)').allTextContents()
    expect(before.length).toBeGreaterThan(0)
    expect(before.every((cell) => cell === '—')).toBe(true)
    await screenshot(page, 'everyday-12-retrain-before-seen')
    await page.locator('[data-testid="close-train"]').click()
    expect(errors).toEqual([])
  })
})
