// The renderer's pure parts: grid arithmetic (what is on screen at 100,000 photos), selection, folder tree, loss chart, retrain rule and wording, lazy pages.
import { describe, expect, it } from 'vitest'
import { layoutFor } from './layout.ts'
import { gridGeometry, keepAnchor, moveFocus, scrollToReveal, visibleRange } from './grid.ts'
import { clickSelect, emptySelection } from './selection.ts'
import { folderTree } from './folders.ts'
import { epochTicks, finalPassStep, lossSeries, nearestPoint, unchangedMap } from './lossChart.ts'
import { canRetrain, retrainHint } from './albums.ts'
import { describeModel, describeModelUpdate, describeUpgrade, finetuneDefault, formatEstimate, planEstimate, trainStage } from './training.ts'
import { PhotoPages, PAGE } from './pages.ts'
import { PHOTOS_MIME, carriesPhotos, readDraggedPhotos, writeDraggedPhotos } from './drag.ts'
import type { PhotoSummary } from '../../../shared/types.ts'

describe('virtual grid', () => {
  const g = gridGeometry(100_000, 1000, 148, 6)

  it('fills the width with whole tiles', () => {
    expect(g.columns).toBe(6)
    expect(g.columns * g.pitch + 6).toBeLessThanOrEqual(1000)
    expect(g.rows).toBe(Math.ceil(100_000 / 6))
  })

  it('renders only the rows on screen, wherever the scroll is', () => {
    for (const scrollTop of [0, 12_345, g.height - 800]) {
      const r = visibleRange(g, 100_000, scrollTop, 800)
      expect(r.end - r.start).toBeLessThanOrEqual(g.columns * (Math.ceil(800 / g.pitch) + 5))
      expect(r.start).toBeLessThanOrEqual(Math.floor(scrollTop / g.pitch) * g.columns)
    }
    expect(visibleRange(g, 100_000, g.height - 800, 800).end).toBe(100_000)
  })

  it('scrolls just enough to reveal the focused photo', () => {
    expect(scrollToReveal(g, 0, 0, 800)).toBeNull()
    expect(scrollToReveal(g, 6 * 100, 0, 800)).toBeGreaterThan(100 * g.pitch - 800)
    expect(scrollToReveal(g, 0, 5000, 800)).toBe(0)
  })

  it('moves focus with the arrow keys and stops at the edges', () => {
    expect(moveFocus(7, 'ArrowRight', 6, 20)).toBe(8)
    expect(moveFocus(7, 'ArrowDown', 6, 20)).toBe(13)
    expect(moveFocus(17, 'ArrowDown', 6, 20)).toBe(19)
    expect(moveFocus(2, 'ArrowUp', 6, 20)).toBe(0)
    expect(moveFocus(5, 'End', 6, 20)).toBe(19)
    expect(moveFocus(5, 'x', 6, 20)).toBe(5)
    // Nothing focused yet: the first press lands on the first photo, not the second.
    expect(moveFocus(-1, 'ArrowRight', 6, 20)).toBe(0)
    expect(moveFocus(-1, 'ArrowDown', 6, 20)).toBe(0)
    expect(moveFocus(-1, 'End', 6, 20)).toBe(19)
  })

  it('keeps a photo where it was on screen when the columns change', () => {
    const wide = gridGeometry(2000, 7 * 154 + 6, 148, 6)
    const narrow = gridGeometry(2000, 5 * 154 + 6, 148, 6)
    expect([wide.columns, narrow.columns]).toEqual([7, 5])
    const anchor = 1403 // row 200 of 7 columns
    const scrollTop = 200 * wide.pitch - 300 // its row 300 px below the viewport's top
    const top = keepAnchor(wide, narrow, anchor, scrollTop, 800)
    expect(Math.floor(anchor / 5) * narrow.pitch - top).toBe(300)
    // Near the end of the list it still ends up fully in view.
    const last = keepAnchor(narrow, wide, 1999, narrow.height - 800, 800)
    const rowTop = Math.floor(1999 / 7) * wide.pitch
    expect(rowTop).toBeGreaterThanOrEqual(last)
    expect(rowTop + wide.pitch).toBeLessThanOrEqual(last + 800)
    // A row that would sit below the viewport after the change is brought into view.
    const low = keepAnchor(wide, gridGeometry(2000, 154 + 6, 148, 6), 1403, scrollTop, 800)
    expect(1403 * 154 - low).toBeLessThanOrEqual(800 - 154)
  })
})

describe('multi-select', () => {
  const idAt = (i: number) => (i < 50 ? 1000 + i : undefined)

  it('click picks one, ctrl toggles, shift extends from the anchor', () => {
    let sel = clickSelect(emptySelection(), 3, { shift: false, toggle: false }, idAt)
    expect([...sel.ids]).toEqual([1003])
    sel = clickSelect(sel, 7, { shift: false, toggle: true }, idAt)
    expect([...sel.ids].sort()).toEqual([1003, 1007])
    sel = clickSelect(sel, 3, { shift: false, toggle: true }, idAt)
    expect([...sel.ids]).toEqual([1007])
    // The anchor is the last photo clicked (3), whether that click added or removed it.
    sel = clickSelect(sel, 6, { shift: true, toggle: false }, idAt)
    expect([...sel.ids].sort()).toEqual([1003, 1004, 1005, 1006])
    sel = clickSelect(sel, 1, { shift: true, toggle: true }, idAt)
    expect([...sel.ids].sort()).toEqual([1001, 1002, 1003, 1004, 1005, 1006])
  })
})

describe('folder tree', () => {
  it('nests folders and sums photos upwards', () => {
    const tree = folderTree([
      { path: '', photos: 2 },
      { path: '2024/summer', photos: 5 },
      { path: '2024/winter', photos: 3 },
      { path: '2023', photos: 1 },
    ])
    expect(tree.photos).toBe(11)
    expect(tree.children.map((c) => c.name)).toEqual(['2023', '2024'])
    expect(tree.children[1]).toMatchObject({ path: '2024', photos: 8 })
    expect(tree.children[1].children.map((c) => c.path)).toEqual(['2024/summer', '2024/winter'])
  })
})

describe('loss chart', () => {
  it('draws one path per loss term inside the box', () => {
    const series = lossSeries(
      [
        { step: 1, loss: { semantic: 2, quantization: 1 } },
        { step: 2, loss: { semantic: 1 } },
        { step: 3, loss: { semantic: 0.5, quantization: 0.25 } },
      ],
      300,
      100,
    )
    expect(series.map((s) => s.name)).toEqual(['semantic', 'quantization'])
    expect(series[0].path.startsWith('M100.0,0.0')).toBe(true)
    expect(series[0].path.split(' ')).toHaveLength(3)
    expect(series[1].last).toBe(0.25)
    expect(lossSeries([], 300, 100)).toEqual([])
  })

  it('marks where the final pass starts again from a fresh head', () => {
    const points = [1, 2, 3, 4].map((step) => ({ step, loss: { semantic: 1 / step }, ...(step > 2 ? { finalPass: true as const } : {}) }))
    expect(finalPassStep(points)).toBe(3)
    expect(finalPassStep(points.slice(0, 2))).toBeNull()
  })
})

describe('retrain rule', () => {
  const album = (photos: number, id = photos) => ({ id, name: `a${id}`, photos })
  it('needs two albums of five photos', () => {
    expect(canRetrain([album(5, 1), album(4, 2)])).toBe(false)
    expect(retrainHint([album(5, 1), album(4, 2)])).toMatch(/1 more album/)
    expect(canRetrain([album(5, 1), album(9, 2)])).toBe(true)
  })

  const plan = { finetune: 'late' as const, lateSeconds: 2.1, reason: 'On this computer it takes about 2.1 s, within the 60 s a retrain may take.', backend: 'wasm' }
  it('starts deeper fine-tuning where the engine plans it, unchecked while unknown', () => {
    expect(finetuneDefault(plan)).toBe(true)
    expect(finetuneDefault({ ...plan, finetune: 'off', lateSeconds: 240 })).toBe(false)
    expect(finetuneDefault('estimating')).toBe(false)
    expect(finetuneDefault('unknown')).toBe(false)
  })

  it('estimates in seconds below 90 s, then minutes, then hours', () => {
    expect(formatEstimate(0.4)).toBe('under 1 s')
    expect(formatEstimate(2.1)).toBe('about 2 s')
    expect(formatEstimate(89.4)).toBe('about 89 s')
    expect(formatEstimate(90)).toBe('about 2 min')
    expect(formatEstimate(240)).toBe('about 4 min')
    expect(formatEstimate(89 * 60)).toBe('about 89 min')
    expect(formatEstimate(3 * 3600)).toBe('about 3 h')
    expect(planEstimate(plan)).toBe('About 2 s here.')
    expect(planEstimate({ ...plan, finetune: 'off', lateSeconds: 240 })).toBe('About 4 min here.')
    expect(planEstimate({ ...plan, lateSeconds: 0.2 })).toBe('Under 1 s here.')
    // Nothing to estimate (no features yet), or no plan: no figure.
    for (const p of [{ ...plan, lateSeconds: 0 }, 'estimating' as const, 'unknown' as const]) expect(planEstimate(p)).toBe('')
  })

  it('names the training stage with its count', () => {
    const job = { state: 'running' as const, done: 120, total: 1500, stage: 'reading activations' as const, epoch: undefined }
    expect(trainStage(job)).toBe('Reading activation maps 120/1,500')
    expect(trainStage({ ...job, stage: 'network', done: 3, total: 20, epoch: 3 })).toBe('Training, epoch 3/20')
    expect(trainStage({ ...job, stage: 'final pass', done: 23, total: 40, epoch: 23 })).toBe('Training again on every album photo, epoch 23/40')
    expect(trainStage({ ...job, stage: 'encoding', done: 40, total: 40 })).toBe('Encoding your photos 40/40')
    expect(trainStage({ ...job, stage: 'neighbours', done: 512, total: 5000 })).toBe("Finding each photo's look-alikes 512/5,000")
    expect(trainStage({ ...job, state: 'queued', done: 0, total: 0, stage: undefined })).toBe('Starting…')
    expect(trainStage({ ...job, stage: 'waiting', done: 0, total: 0 })).toBe('Waiting for another Lookalike to finish…')
  })

  it('says when the active model is fine-tuned', () => {
    const model = { id: 4, kind: 'supervised' as const, createdAt: 0, albums: 3, finetune: 'off' as const }
    expect(describeModel(model)).toBe('model #4 · trained on 3 albums')
    expect(describeModel({ ...model, finetune: 'late' })).toBe('model #4 · trained on 3 albums · fine-tuned')
    expect(describeModel(null)).toBe('no model yet')
  })

  it('says what a background update of the search model is doing, and nothing once it is over', () => {
    const job = { state: 'running' as const, done: 3, total: 8, stage: 'unsupervised' as const }
    expect(describeModelUpdate(job)).toBe('fitting the search model, block 3/8')
    expect(describeModelUpdate({ ...job, done: 1024, total: 2918, stage: 'neighbours' })).toBe("finding each photo's look-alikes 1,024/2,918")
    expect(describeModelUpdate({ ...job, stage: 'encoding', done: 1200, total: 5000 })).toBe('coding photos for search 1,200/5,000')
    expect(describeModelUpdate({ ...job, stage: 'waiting' })).toBe('search model update waiting for another Lookalike')
    expect(describeModelUpdate({ ...job, state: 'queued', stage: undefined })).toBe('updating the search model…')
    expect(describeModelUpdate({ ...job, state: 'done' })).toBe('')
    expect(describeModelUpdate(null)).toBe('')
  })

  it('says when the photo features are being upgraded, and whether a Retrain follows', () => {
    expect(describeUpgrade(undefined)).toBe('')
    expect(describeUpgrade({ done: 1200, total: 5000, jobId: 7, retrain: false })).toBe('upgrading to a new image feature 1,200/5,000')
    expect(describeUpgrade({ done: 1200, total: 5000, jobId: null, retrain: true })).toBe('new image feature 1,200/5,000, carries on at the next start · then a Retrain on your albums')
  })
})

describe('photo pages', () => {
  const photo = (i: number): PhotoSummary => ({ id: i + 1, rootId: 1, relPath: `p${i}.jpg`, width: 1, height: 1, takenAt: i })

  it('fetches each page once, on demand, and refetches on invalidate without blanking', async () => {
    const asked: number[] = []
    let total = 1200
    const pages = new PhotoPages(
      async (offset, limit) => {
        asked.push(offset)
        return { total, photos: Array.from({ length: Math.max(0, Math.min(limit, total - offset)) }, (_, i) => photo(offset + i)) }
      },
      () => {},
    )
    await pages.start()
    expect(pages.total).toBe(1200)
    pages.ensure(0, 10)
    pages.ensure(PAGE + 10, PAGE + 20)
    pages.ensure(PAGE + 30, PAGE + 40)
    await new Promise((r) => setTimeout(r, 0))
    expect(asked).toEqual([0, PAGE])
    expect(pages.at(PAGE + 1)?.id).toBe(PAGE + 2)
    expect(pages.at(1100)).toBeUndefined()

    total = 1300
    pages.invalidate()
    expect(pages.at(PAGE + 35)?.id).toBe(PAGE + 36) // the stale copy stays on screen meanwhile
    await new Promise((r) => setTimeout(r, 0))
    expect(pages.total).toBe(1300)
    expect(asked.slice(2)).toEqual([PAGE])
  })
})

describe('dragging photos onto albums', () => {
  it('carries photo ids in its own type and ignores anything else', () => {
    const store = new Map<string, string>()
    const transfer = {
      effectAllowed: 'none',
      setData: (type: string, value: string) => store.set(type, value),
      getData: (type: string) => store.get(type) ?? '',
      get types() {
        return [...store.keys()]
      },
    } as unknown as DataTransfer
    expect(carriesPhotos(transfer)).toBe(false)
    writeDraggedPhotos(transfer, [3, 9])
    expect(carriesPhotos(transfer)).toBe(true)
    expect(readDraggedPhotos(transfer)).toEqual([3, 9])
    store.set(PHOTOS_MIME, '[1, -2, "3", 4.5, 7]')
    expect(readDraggedPhotos(transfer)).toEqual([1, 7])
    store.set(PHOTOS_MIME, 'not json')
    expect(readDraggedPhotos(transfer)).toEqual([])
  })
})

describe('window layout', () => {
  it('keeps sidebar and panel beside the grid in a large window, lays them over it in a small one', () => {
    expect(layoutFor(1400, null)).toEqual({ sidebar: 'inline', sidebarShown: true, panel: 'inline' })
    expect(layoutFor(1400, false)).toEqual({ sidebar: 'inline', sidebarShown: false, panel: 'inline' })
    expect(layoutFor(900, null)).toEqual({ sidebar: 'drawer', sidebarShown: false, panel: 'inline' })
    expect(layoutFor(800, true)).toEqual({ sidebar: 'drawer', sidebarShown: true, panel: 'inline' })
    expect(layoutFor(640, null).panel).toBe('overlay')
  })
})

describe('retrain chart and summary', () => {
  it('puts whole-epoch ticks on the x axis and finds the epoch under the pointer', () => {
    expect(epochTicks(3)).toEqual([1, 2, 3])
    expect(epochTicks(20)).toEqual([1, 6, 11, 15, 20])
    const points = [1, 2, 3, 4].map((step) => ({ step, loss: { triplet: 1 / step } }))
    expect(nearestPoint(points, 0, 400)?.step).toBe(1)
    expect(nearestPoint(points, 290, 400)?.step).toBe(3)
    expect(nearestPoint([], 10, 400)).toBeNull()
  })

  it('tells a retrain that changed nothing from one that did', () => {
    expect(unchangedMap({ 8: 0.5, exact: 0.6 }, { 8: 0.5002, exact: 0.6 })).toBe(true)
    expect(unchangedMap({ 8: 0.5, exact: 0.6 }, { 8: 0.51, exact: 0.6 })).toBe(false)
    expect(unchangedMap({ 8: null }, { 8: 0.5 })).toBe(false)
  })
})
