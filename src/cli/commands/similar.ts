// `lookalike similar <path|id> --db FILE --bits N|exact --top K [--json]`: ranked look-alikes.
// A library photo is found by id or by its path; any other image file is embedded on the spot.
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { createService, type LookalikeService } from '../../core/service.ts'
import { openDb } from '../../core/store/db.ts'
import { knownFile } from '../../core/store/photos.ts'
import { isInside, listRoots } from '../../core/store/roots.ts'
import { ApiError, parseInput, precisionSchema } from '../../shared/contract.ts'
import { CODE_BITS, type Precision, type SimilarAnswer } from '../../shared/types.ts'
import { CliError, intFlag, parseCommand, printJson } from '../args.ts'

export async function run(argv: string[]): Promise<number> {
  const { values, positionals, db } = parseCommand(argv, {
    bits: { type: 'string', default: '64' },
    top: { type: 'string', default: '20' },
  })
  if (positionals.length !== 1) throw new CliError('usage: lookalike similar <path|photo id> --db FILE [--bits 8…64|exact] [--top K] [--json]')
  const precision = parsePrecision(String(values.bits))
  const k = intFlag(values.top, 'top', 20)
  if (k < 1 || k > 1000) throw new CliError(`--top must be 1…1000, got ${k}`)
  if (!existsSync(db)) throw new CliError(`No library at ${db}: index a folder first (lookalike index <folder> --db ${db})`)

  const query = positionals[0]
  const service = await createService({ dbFile: db, watch: false })
  try {
    const photoId = findPhoto(db, query)
    let answer: SimilarAnswer
    try {
      answer =
        photoId !== null
          ? await service.similar(parseInput('similar', { photoId, precision, k }))
          : await service.similarToImage(parseInput('similarToImage', { data: readImage(query), precision, k }))
    } catch (err) {
      if (err instanceof ApiError) throw new CliError(err.message, 1)
      throw err
    }
    const results = await withPaths(service, answer)
    if (values.json) printJson({ query: photoId ?? resolve(query), precision: answer.precision, ms: answer.ms, results })
    else {
      console.log(`${results.length} photos like ${photoId !== null ? `photo ${photoId}` : query} (${precision === 'exact' ? 'exact' : `${precision} bits`}, ranked in ${answer.ms.toFixed(2)} ms):`)
      for (const r of results) console.log(`${r.score.toFixed(4).padStart(9)}  ${r.path}`)
    }
    return 0
  } finally {
    await service.close()
  }
}

function parsePrecision(value: string): Precision {
  const parsed = precisionSchema.safeParse(value === 'exact' ? value : Number(value))
  if (!parsed.success) throw new CliError(`--bits must be one of ${CODE_BITS.join(', ')} or exact, got "${value}"`)
  return parsed.data
}

/** A photo id, or the id of the library photo at this path; null for an image outside the library. */
function findPhoto(dbFile: string, query: string): number | null {
  if (/^[1-9][0-9]*$/.test(query) && !existsSync(query)) return Number(query)
  if (!existsSync(query)) throw new CliError(`No such file: ${query}`)
  const file = realpathSync(query)
  const db = openDb(dbFile, { readonly: true })
  try {
    for (const root of listRoots(db)) {
      if (!isInside(root.path, file)) continue
      const row = knownFile(db, root.id, file.slice(root.path.length + 1).split('\\').join('/'))
      if (row?.status === 'ok') return row.id
    }
    return null
  } finally {
    db.close()
  }
}

function readImage(path: string): string {
  if (!statSync(path).isFile()) throw new CliError(`Not a file: ${path}`)
  return readFileSync(path).toString('base64')
}

async function withPaths(service: LookalikeService, answer: SimilarAnswer): Promise<{ id: number; score: number; path: string }[]> {
  const roots = new Map((await service.listRoots({})).map((r) => [r.id, r.path]))
  return Promise.all(
    answer.results.map(async ({ id, score }) => {
      const photo = await service.getPhoto({ id })
      return { id, score, path: join(roots.get(photo.rootId) ?? '', photo.relPath) }
    }),
  )
}
