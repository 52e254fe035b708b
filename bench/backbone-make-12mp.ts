// Makes camera-sized test photos for `lookalike bench index`: each source photo upscaled to
// 4000×3000 (12 MP) with a little sensor-like grain, since JPEG decode cost depends on detail.
// usage: tsx bench/backbone-make-12mp.ts <source folder> <dest folder> [count=200]
import { mkdirSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'

const [source, dest, countArg = '200'] = process.argv.slice(2)
if (!source || !dest) {
  console.error('usage: tsx bench/backbone-make-12mp.ts <source folder> <dest folder> [count=200]')
  process.exit(2)
}
const walk = (dir: string): string[] =>
  readdirSync(dir).sort().flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? walk(path) : /\.(jpe?g|png|webp)$/i.test(name) ? [path] : []
  })
const sources = walk(source)
const count = Math.min(Number(countArg), sources.length * 4)
mkdirSync(dest, { recursive: true })
const grain = await sharp({ create: { width: 4000, height: 3000, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 18 } } })
  .png()
  .toBuffer()
const started = Date.now()
for (let i = 0; i < count; i++) {
  // Reuse sources with a flip when asked for more photos than there are, so no two files are identical.
  const image = sharp(sources[i % sources.length]).rotate().resize(4000, 3000, { fit: 'cover', kernel: 'lanczos3' })
  if (Math.floor(i / sources.length) % 2 === 1) image.flop()
  await image
    .composite([{ input: grain, blend: 'soft-light' }])
    .jpeg({ quality: 92 })
    .toFile(join(dest, `photo-${String(i).padStart(4, '0')}.jpg`))
}
console.log(JSON.stringify({ photos: count, folder: dest, seconds: (Date.now() - started) / 1000 }))
