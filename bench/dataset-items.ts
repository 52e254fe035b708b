// The photos of a labelled dev dataset, for the feature-extraction dev tools: a folder of class
// folders, or a TSV file (header, then path relative to the file and comma-separated labels).
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'

export interface DatasetItem {
  path: string
  labels: string[]
}

/** Every photo with its labels, class folders and files in name order; at most `perClass` per class folder. */
export function datasetItems(source: string, perClass = Infinity): DatasetItem[] {
  if (source.startsWith('tsv:')) {
    const file = source.slice(4)
    return readFileSync(file, 'utf8').trim().split('\n').slice(1).map((line) => {
      const [p, labels] = line.split('\t')
      return { path: join(dirname(file), p), labels: labels ? labels.split(',') : [] }
    })
  }
  return readdirSync(source).filter((c) => !c.includes('.')).sort().flatMap((cls) =>
    readdirSync(join(source, cls)).sort().slice(0, perClass).map((f) => ({ path: join(source, cls, f), labels: [cls] })))
}
