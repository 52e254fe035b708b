// Deeper fine-tuning in the library: the app's own Retrain path with finetune 'off' and 'late' on the same
// indexed photos (a copy of part of a labelled folder), one album per class. Prints one JSON line:
// seconds per stage, the held-out mAP the app records, and what the activation maps cost on disk.
//   npx tsx bench/library-finetune.ts [--folder ../shared/datasets/cifar10-dev] [--per-class 100]
//        [--album-photos 50] [--epochs 30]
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { createActivationExtractor } from '../src/core/modeling/activations.ts'
import { libraryTail } from '../src/core/modeling/inputs.ts'
import { mapKey } from '../src/core/dpq/tail-spec.ts'
import { ensureCodes } from '../src/core/modeling/codes.ts'
import { retrain } from '../src/core/modeling/retrain.ts'
import { createEmbedder } from '../src/core/embed/embedder.ts'
import { indexRoot } from '../src/core/library/indexer.ts'
import { activationCount } from '../src/core/store/activations.ts'
import { addToAlbum, createAlbum } from '../src/core/store/albums.ts'
import { openDb } from '../src/core/store/db.ts'
import { listPhotos } from '../src/core/store/photos.ts'

const { values } = parseArgs({
  options: {
    folder: { type: 'string', default: '../shared/datasets/cifar10-dev' },
    'per-class': { type: 'string', default: '100' },
    'album-photos': { type: 'string', default: '50' },
    epochs: { type: 'string', default: '30' },
  },
})
const folder = values.folder!
if (!existsSync(folder)) {
  console.error(`no dataset at ${folder}`)
  process.exit(2)
}
const perClass = Number(values['per-class'])
const albumPhotos = Number(values['album-photos'])
const epochs = Number(values.epochs)

const dir = mkdtempSync(join(tmpdir(), 'library-finetune-'))
const photos = join(dir, 'photos')
const classes = readdirSync(folder).filter((c) => statSync(join(folder, c)).isDirectory()).sort()
for (const c of classes) {
  mkdirSync(join(photos, c), { recursive: true })
  for (const f of readdirSync(join(folder, c)).sort().slice(0, perClass)) copyFileSync(join(folder, c, f), join(photos, c, f))
}
const dbFile = join(dir, 'library.sqlite')
const db = openDb(dbFile)
const seconds = (t: number) => Math.round((performance.now() - t) / 10) / 100
const dbMb = () => {
  db.pragma('wal_checkpoint(TRUNCATE)')
  return Math.round((statSync(dbFile).size / 1048576) * 10) / 10
}
try {
  const embedder = await createEmbedder()
  let t = performance.now()
  await indexRoot(db, photos, { thumbnailDir: join(dir, 'thumbs'), embedder })
  const indexSeconds = seconds(t)
  await embedder.close()
  const backbone = embedder.backboneId
  const ids = listPhotos(db, { limit: 1e9 }).photos
  for (const c of classes) {
    const album = createAlbum(db, c)
    addToAlbum(db, album.id, ids.filter((p) => p.relPath.startsWith(`${c}/`)).slice(0, albumPhotos).map((p) => p.id))
  }
  await ensureCodes(db, backbone)
  const sizeBefore = dbMb()

  t = performance.now()
  const off = await retrain(db, backbone, { epochs })
  const offSeconds = seconds(t)

  const extractor = await createActivationExtractor()
  const stages = new Map<string, number>()
  let stage = ''
  let since = performance.now()
  t = performance.now()
  const late = await retrain(db, backbone, {
    epochs,
    finetune: 'late',
    activations: extractor,
    onProgress: (e) => {
      const now = e.epoch ? 'training' : (e.stage ?? '')
      if (now !== stage) {
        if (stage) stages.set(stage, (stages.get(stage) ?? 0) + seconds(since))
        stage = now
        since = performance.now()
      }
    },
  })
  stages.set(stage, (stages.get(stage) ?? 0) + seconds(since))
  const lateSeconds = seconds(t)
  const maps = activationCount(db, mapKey(backbone, libraryTail(backbone)))
  const mapBytes = db.prepare<[], { n: number }>('SELECT SUM(LENGTH(data)) AS n FROM activations').get()!.n
  const modelMb = db.prepare<[], { id: number; kind: string; mb: number }>('SELECT id, kind, LENGTH(weights) / 1048576.0 AS mb FROM models ORDER BY id').all()
  const sizeAfter = dbMb()
  extractor.dispose()
  console.log(
    JSON.stringify({
      photos: ids.length,
      album_photos: albumPhotos * classes.length,
      epochs,
      index_seconds: indexSeconds,
      off: { retrain_seconds: offSeconds, map: off.after },
      late: { retrain_seconds: lateSeconds, stage_seconds: Object.fromEntries(stages), map: late.after, unreadable: late.unreadable?.length ?? 0 },
      activation_maps: maps,
      activation_kb_per_photo: Math.round((mapBytes / Math.max(1, maps) / 1024) * 10) / 10,
      // Every model stays in the file as history: a fine-tuned one carries its 6 MB tail.
      model_mb: modelMb.map((m) => ({ id: m.id, mb: Math.round(m.mb * 10) / 10 })),
      db_mb: { before: sizeBefore, after: sizeAfter },
    }),
  )
} finally {
  db.close()
  rmSync(dir, { recursive: true, force: true })
}
