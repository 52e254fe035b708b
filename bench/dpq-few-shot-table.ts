// Markdown tables from bench/dpq-few-shot.ts output (JSON lines): one row per dataset and number
// of photos per album, mAP@all of DPQ per code length beside its float embedding, the unsupervised
// codes and the float feature, and whether the sweep's targets hold (32 and 64 bits at least the float
// feature and the unsupervised codes; 64 ≥ 8 + 0.01 from 10 per album; no fall of more than 0.005 with more bits).
//   npx tsx bench/dpq-few-shot-table.ts .tmp/dpq-few-shot/*.jsonl [--variant NAME]
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'

interface Measured {
  map: number
  p20: number
}

interface Row {
  dataset: string
  distractors?: string
  per_album: number
  albums: string
  album_photos: number
  queries: number
  variant: string
  seconds?: number
  embedding?: Record<string, Measured>
  [group: string]: unknown
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { variant: { type: 'string', default: 'dpq' } } })
const rows = positionals.flatMap((f) =>
  readFileSync(f, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Row),
)
const base = (file: string) => file.replace(/^.*\//, '').replace(/\.sqlite$/, '')
const name = (r: Row) => base(r.dataset) + (r.distractors ? ` among ${base(r.distractors)}` : '')
const keys = [...new Set(rows.map((r) => `${name(r)}|${r.albums}|${r.per_album}`))]
const LENGTHS = ['8', '16', '32', '64']
const f = (x: number | undefined) => (x === undefined ? '–' : x.toFixed(3))

for (const albums of [...new Set(rows.map((r) => r.albums))]) {
  const groups = albums === 'half' ? ['album_classes', 'other_classes'] : ['all']
  for (const group of groups) {
    console.log(`\n**albums: ${albums}${group === 'all' ? '' : `, queries of ${group.replace('_', ' ')}`}** (mAP@all; P@20 in brackets)\n`)
    console.log('| dataset | photos per album (in albums) | DPQ 8 | 16 | 32 | 64 bits | DPQ float x | unsupervised 8 / 32 / 64 | float feature | targets |')
    console.log('|---|---|---|---|---|---|---|---|---|---|')
    for (const key of keys.filter((k) => k.split('|')[1] === albums)) {
      const at = rows.filter((r) => `${name(r)}|${r.albums}|${r.per_album}` === key)
      const pick = (v: string) => at.find((r) => r.variant === v)
      const dpq = pick(values.variant!)?.[group] as Record<string, Measured> | undefined
      const unsup = pick('unsupervised')?.[group] as Record<string, Measured> | undefined
      const float = pick('float')?.[group] as Measured | undefined
      const emb = pick(values.variant!)?.embedding?.[group]
      if (!dpq) continue
      const [ds, , per] = key.split('|')
      const misses: string[] = []
      for (const b of ['32', '64']) {
        if (float && dpq[b].map < float.map) misses.push(`${b} < float`)
        if (unsup && dpq[b].map < unsup[b].map) misses.push(`${b} < unsup`)
      }
      if (Number(per) >= 10 && dpq['64'].map < dpq['8'].map + 0.01) misses.push('64 < 8 + 0.01')
      // mAP never falls with more bits by more than 0.005 (every length measured, not only the printed ones).
      const lengths = Object.keys(dpq).map(Number).sort((a, b) => a - b)
      const falls = lengths.filter((b, i) => i > 0 && dpq[b].map < Math.max(...lengths.slice(0, i).map((s) => dpq[s].map)) - 0.005)
      if (falls.length) misses.push(`falls at ${falls.join(', ')} bits`)
      const cell = (m: Measured | undefined) => (m ? `${f(m.map)}` : '–')
      console.log(
        `| ${ds} | ${per} (${pick(values.variant!)!.album_photos}) | ${LENGTHS.map((b) => cell(dpq[b])).join(' | ')} (${f(dpq['64'].p20)}) | ${cell(emb)} | ${unsup ? ['8', '32', '64'].map((b) => f(unsup[b].map)).join(' / ') + ` (${f(unsup['64'].p20)})` : '–'} | ${float ? `${f(float.map)} (${f(float.p20)})` : '–'} | ${misses.length ? misses.join(', ') : 'met'} |`,
      )
    }
  }
}

