// "Retraining on 5,000 photos": a real library file holding the 5,000 cached CIFAR-10 dev
// features, one album per class, then the app's own path: ensureCodes (first, unsupervised model)
// and retrain (train on albums, re-encode everything, measure held-out mAP, activate).
// Prints seconds and mAP before/after as one JSON line.
//   npx tsx bench/dpq-retrain.ts [--layers block_13_expand_relu | --library FILE] [--album-photos 500] [--dpq '{…}'] [--library-model '{…}']
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { ensureBackend } from '../src/core/modeling/backend.ts'
import { ensureCodes } from '../src/core/modeling/codes.ts'
import { retrain } from '../src/core/modeling/retrain.ts'
import type { TrainOptions } from '../src/core/dpq/train.ts'
import type { LibraryModelOptions } from '../src/core/dpq/library-model.ts'
import { openDb } from '../src/core/store/db.ts'
import { putFeatures } from '../src/core/store/features.ts'
import { loadCached } from './dpq-cached.ts'
import { libraryPhotos } from './dpq-library-photos.ts'

const { values } = parseArgs({
  options: {
    layers: { type: 'string', default: 'block_13_expand_relu' },
    'album-photos': { type: 'string', default: '500' },
    dpq: { type: 'string', default: '{}' },
    /** Retrain's library-model options, e.g. '{"blend":0.4}' for a fixed blend weight (default: chosen per library). */
    'library-model': { type: 'string', default: '{}' },
    /** Features from an indexed library file instead (`lookalike index <cifar10-dev> --db FILE`). */
    library: { type: 'string' },
  },
})
const photos = values.library ? libraryPhotos(values.library, 'folders') : loadCached('cifar10', values.layers!.split(','))
const dir = mkdtempSync(join(tmpdir(), 'dpq-retrain-'))
const db = openDb(join(dir, 'library.sqlite'))
try {
  const now = Date.now()
  db.prepare('INSERT INTO roots (id, path, added_at) VALUES (1, ?, ?)').run('/cifar10-dev', now)
  photos.classNames.forEach((name, c) => db.prepare('INSERT INTO albums (id, name, created_at) VALUES (?, ?, ?)').run(c + 1, name, now))
  const perClass = new Map<number, number>()
  db.transaction(() => {
    photos.names.forEach((name, i) => {
      const c = photos.labels[i][0]
      const rank = perClass.get(c) ?? 0
      perClass.set(c, rank + 1)
      db.prepare("INSERT INTO photos (id, root_id, rel_path, size, mtime_ms, hash, status) VALUES (?, 1, ?, 1, 1, ?, 'ok')").run(i + 1, name, `h${i}`)
      if (rank < Number(values['album-photos'])) db.prepare('INSERT INTO album_photos (album_id, photo_id, added_at) VALUES (?, ?, ?)').run(c + 1, i + 1, now)
    })
  })()
  putFeatures(db, 'b', photos.features.map((vector, i) => ({ hash: `h${i}`, vector })))
  const backend = await ensureBackend()
  let t = performance.now()
  await ensureCodes(db, 'b')
  const firstModelSeconds = (performance.now() - t) / 1000
  t = performance.now()
  const result = await retrain(db, 'b', { trainOptions: JSON.parse(values.dpq!) as TrainOptions, libraryModel: JSON.parse(values['library-model']!) as LibraryModelOptions })
  const retrainSeconds = (performance.now() - t) / 1000
  console.log(JSON.stringify({ photos: photos.names.length, backend, first_model_seconds: round(firstModelSeconds), retrain_seconds: round(retrainSeconds), ...result }))
} finally {
  db.close()
  rmSync(dir, { recursive: true, force: true })
}

function round(x: number): number {
  return Math.round(x * 100) / 100
}
