// Renders resources/icon.svg into every icon the packages need: PNGs per size (Linux, and the
// 1024 px one electron-builder turns into macOS .icns), a Windows .ico, and the web favicon.
// Run: npx tsx scripts/render-icons.ts
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import sharp from 'sharp'

const resources = resolve(import.meta.dirname, '..', 'resources')
const svg = readFileSync(join(resources, 'icon.svg'))
const SIZES = [16, 24, 32, 48, 64, 128, 256, 512, 1024]
const ICO_SIZES = [16, 24, 32, 48, 64, 128, 256]

async function png(size: number): Promise<Buffer> {
  return sharp(svg, { density: Math.ceil((72 * size) / 1024) * 4 })
    .resize(size, size)
    .png({ compressionLevel: 9 })
    .toBuffer()
}

/** An .ico is a directory of images; modern Windows reads PNG entries directly. */
function ico(images: { size: number; data: Buffer }[]): Buffer {
  const header = Buffer.alloc(6)
  header.writeUInt16LE(0, 0)
  header.writeUInt16LE(1, 2) // type: icon
  header.writeUInt16LE(images.length, 4)
  const entries: Buffer[] = []
  let offset = 6 + 16 * images.length
  for (const { size, data } of images) {
    const entry = Buffer.alloc(16)
    entry.writeUInt8(size >= 256 ? 0 : size, 0) // 0 means 256
    entry.writeUInt8(size >= 256 ? 0 : size, 1)
    entry.writeUInt16LE(1, 4) // colour planes
    entry.writeUInt16LE(32, 6) // bits per pixel
    entry.writeUInt32LE(data.length, 8)
    entry.writeUInt32LE(offset, 12)
    entries.push(entry)
    offset += data.length
  }
  return Buffer.concat([header, ...entries, ...images.map((i) => i.data)])
}

mkdirSync(join(resources, 'icons'), { recursive: true })
const rendered = new Map<number, Buffer>()
for (const size of SIZES) {
  const data = await png(size)
  rendered.set(size, data)
  writeFileSync(join(resources, 'icons', `${size}x${size}.png`), data)
}
writeFileSync(join(resources, 'icon.png'), rendered.get(1024)!)
writeFileSync(join(resources, 'icon.ico'), ico(ICO_SIZES.map((size) => ({ size, data: rendered.get(size)! }))))
copyFileSync(join(resources, 'icon.svg'), resolve(resources, '..', 'src', 'renderer', 'favicon.svg'))
console.log(JSON.stringify({ pngs: SIZES, ico: ICO_SIZES, out: resources }))
