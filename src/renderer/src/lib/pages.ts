// Lazily fetched pages of a photo listing. The grid asks for the photos it shows; pages of PAGE
// photos are fetched once, in the background, and a listing change starts a fresh cache.
import type { PhotoSummary } from '../../../shared/types.ts'

export const PAGE = 500

export type FetchPage = (offset: number, limit: number) => Promise<{ total: number; photos: PhotoSummary[] }>

export class PhotoPages {
  private pages = new Map<number, PhotoSummary[]>()
  /** Pages from before the last invalidate(): shown until their fresh copy arrives, so nothing flickers. */
  private stale = new Map<number, PhotoSummary[]>()
  private inFlight = new Map<number, Promise<void>>()
  private lastRange: [number, number] = [0, PAGE]
  /** Bumped by invalidate(): answers to older requests are dropped. */
  private generation = 0
  total = 0

  constructor(
    private readonly fetchPage: FetchPage,
    /** Called when a page arrives, so the view can repaint. */
    private readonly onPage: () => void,
    private readonly onError: (err: unknown) => void = console.error,
  ) {}

  /** Loads the first page and learns the total. */
  async start(): Promise<void> {
    await this.load(0)
  }

  at(index: number): PhotoSummary | undefined {
    const page = Math.floor(index / PAGE)
    return (this.pages.get(page) ?? this.stale.get(page))?.[index % PAGE]
  }

  /** Makes sure every page overlapping [start, end) is loaded or loading. */
  ensure(start: number, end: number): void {
    this.lastRange = [start, end]
    for (let page = Math.floor(start / PAGE); page * PAGE < end; page++) this.load(page).catch(this.onError)
  }

  /** The listing changed on the server (new photos indexed): refetch what is on screen. */
  invalidate(): void {
    for (const [page, photos] of this.pages) this.stale.set(page, photos)
    this.pages.clear()
    this.generation++
    this.inFlight.clear()
    this.ensure(this.lastRange[0], Math.max(this.lastRange[1], 1))
  }

  /** Index of a loaded photo, or -1. */
  indexOf(photoId: number): number {
    for (const [page, photos] of this.pages) {
      const i = photos.findIndex((p) => p.id === photoId)
      if (i >= 0) return page * PAGE + i
    }
    return -1
  }

  private load(page: number): Promise<void> {
    if (this.pages.has(page)) return Promise.resolve()
    let pending = this.inFlight.get(page)
    if (!pending) {
      const generation = this.generation
      pending = this.fetchPage(page * PAGE, PAGE)
        .then(({ total, photos }) => {
          if (generation !== this.generation) return
          this.total = total
          this.pages.set(page, photos)
          this.stale.delete(page)
          this.onPage()
        })
        .finally(() => {
          if (generation === this.generation) this.inFlight.delete(page)
        })
      this.inFlight.set(page, pending)
    }
    return pending
  }
}
