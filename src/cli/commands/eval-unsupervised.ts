// `lookalike eval <folder> --unsupervised [--db FILE] [--labels folders|tsv:FILE] [--queries-per-class Q]
//  [--feature NAME] [--backend B] [--json]`: how well the library's own unsupervised path finds look-alikes, with labels
// used only to score. Indexes the folder into FILE (a rerun reuses every cached feature), fits the
// unsupervised model as a library's first model is fitted, encodes every photo, and ranks the other
// photos for the first Q photos of each class: precision@20 and mAP@all of search at each precision
// the app offers, and of cosine on the stored backbone feature. --feature picks the image feature the
// folder is indexed with (the library's by default).
import { existsSync, statSync } from 'node:fs'
import { basename, resolve } from 'node:path'
import { evaluateUnsupervised, type UnsupervisedEvalReport } from '../../core/modeling/unsupervised-eval.ts'
import { StoreError } from '../../core/store/errors.ts'
import { openDb } from '../../core/store/db.ts'
import type { RankingQuality } from '../../core/search/retrieval-quality.ts'
import { ApiError } from '../../shared/contract.ts'
import { CliError, intFlag, parseCommand, printJson } from '../args.ts'
import { featureFlag } from '../feature-flag.ts'
import { indexLabelledFolder, labelReader } from '../labelled-folder.ts'

const USAGE = 'usage: lookalike eval <folder> --unsupervised [--db FILE] [--labels folders|tsv:FILE] [--queries-per-class Q] [--feature NAME] [--backend B] [--json]'

export async function run(argv: string[]): Promise<number> {
  const { values, positionals, db: dbFile } = parseCommand(argv, {
    labels: { type: 'string', default: 'folders' },
    'queries-per-class': { type: 'string' },
    feature: { type: 'string' },
    backend: { type: 'string' },
  })
  if (positionals.length !== 1) throw new CliError(USAGE)
  const folder = resolve(positionals[0])
  if (!existsSync(folder) || !statSync(folder).isDirectory()) throw new CliError(`no folder at ${folder}`)
  const queriesPerClass = intFlag(values['queries-per-class'], 'queries-per-class', 20)
  if (queriesPerClass < 1) throw new CliError(`--queries-per-class must be at least 1, got "${values['queries-per-class']}"`)
  const labelsOf = labelReader(values.labels as string)
  const feature = featureFlag(values.feature as string | undefined)
  const log = values.json ? () => {} : (line: string) => process.stderr.write(`${line}\n`)

  const db = openDb(dbFile)
  try {
    const { photos, backboneId } = await indexLabelledFolder(db, dbFile, folder, { labelsOf, feature, backend: values.backend as string | undefined, log })
    if (photos.classNames.length < 2) throw new CliError(`every labelled photo in ${folder} is in one class (${photos.classNames[0]}): scoring look-alikes needs at least two`)
    log(`fitting the unsupervised model on ${photos.contents.length} photos, then searching …`)
    const report = await evaluateUnsupervised(db, backboneId, photos, {
      library: photos.contents,
      queriesPerClass,
      k: 20,
      onProgress: (e) => {
        if (e.stage === 'neighbours') log(`blending photos with their neighbours ${e.done}/${e.total}`)
        if (e.stage === 'unsupervised') log(`codebook block ${e.done}/${e.total}`)
      },
    })
    const out = { dataset: basename(folder), mode: 'unsupervised', backbone: backboneId, ...rounded(report) }
    if (values.json) printJson(out)
    else console.log(table(out))
    return 0
  } catch (err) {
    if (err instanceof ApiError || err instanceof StoreError) throw new CliError(err.message)
    if (err instanceof Error && /^(No queries|Every photo is a query)/.test(err.message)) throw new CliError(err.message)
    throw err
  } finally {
    db.close()
  }
}

/** Precision@20 and mAP@all of one way of ranking, as printed. */
interface Scores {
  precision_at_20: number
  map: number
}

type Rounded = Omit<UnsupervisedEvalReport, 'k' | 'search' | 'float'> & { search: Record<string, Scores>; float: Scores }

/** Every figure to 3 decimals, in the JSON's snake_case. */
function rounded({ k: _k, ...report }: UnsupervisedEvalReport): Rounded {
  const r = (x: number) => Math.round(x * 1000) / 1000
  const quality = (q: RankingQuality): Scores => ({ precision_at_20: r(q.precisionAtK), map: r(q.map) })
  return {
    ...report,
    train_seconds: r(report.train_seconds),
    search: Object.fromEntries(Object.entries(report.search).map(([p, q]) => [p, quality(q)])),
    float: quality(report.float),
  }
}

function table(out: Rounded & { dataset: string; backbone: string }): string {
  const row = (name: string, q: Scores) => `${name.padEnd(28)}${q.precision_at_20.toFixed(3).padStart(8)}${q.map.toFixed(3).padStart(9)}`
  return [
    `${out.dataset}: ${out.photos} photos in ${out.classes} classes, ${out.queries} queries against ${out.database} photos`,
    `backbone ${out.backbone}; unsupervised model fitted on ${out.trained_on} photos in ${out.train_seconds} s`,
    '',
    `${'precision'.padEnd(28)}${'P@20'.padStart(8)}${'mAP@all'.padStart(9)}`,
    ...Object.entries(out.search).map(([p, q]) => row(p === 'exact' ? 'exact' : `${p} bits`, q)),
    row('float (cosine of feature)', out.float),
  ].join('\n')
}
