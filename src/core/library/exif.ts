// Capture date and camera from EXIF. Missing or broken EXIF is normal, never a reason to fail a photo.
import exifr from 'exifr'

export interface ExifFacts {
  /** DateTimeOriginal (else CreateDate), ms since epoch. */
  takenAt: number | null
  camera: string | null
}

export async function readExif(file: Buffer): Promise<ExifFacts> {
  try {
    const tags = (await exifr.parse(file, { pick: ['DateTimeOriginal', 'CreateDate', 'Make', 'Model'] })) as Record<string, unknown> | undefined
    if (!tags) return { takenAt: null, camera: null }
    const date = [tags.DateTimeOriginal, tags.CreateDate].find((d): d is Date => d instanceof Date && !Number.isNaN(d.getTime()))
    return { takenAt: date ? date.getTime() : null, camera: cameraName(tags.Make, tags.Model) }
  } catch {
    return { takenAt: null, camera: null }
  }
}

/** "Canon" + "Canon EOS 5D" → "Canon EOS 5D"; "FUJIFILM" + "X100V" → "FUJIFILM X100V". */
function cameraName(make: unknown, model: unknown): string | null {
  const mk = typeof make === 'string' ? make.trim() : ''
  const md = typeof model === 'string' ? model.trim() : ''
  if (!mk && !md) return null
  if (md.toLowerCase().startsWith(mk.toLowerCase())) return md || mk
  return [mk, md].filter(Boolean).join(' ')
}
