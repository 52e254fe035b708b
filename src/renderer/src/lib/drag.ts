// Dragging photos from the grid onto an album: the ids travel in a MIME type of our own, so an
// internal drag is never mistaken for an outside file (which searches by image instead).
export const PHOTOS_MIME = 'application/x-lookalike-photos'

export function writeDraggedPhotos(transfer: DataTransfer, ids: number[]): void {
  transfer.setData(PHOTOS_MIME, JSON.stringify(ids))
  transfer.effectAllowed = 'copy'
}

export function carriesPhotos(transfer: DataTransfer | null): boolean {
  return transfer?.types.includes(PHOTOS_MIME) ?? false
}

export function readDraggedPhotos(transfer: DataTransfer | null): number[] {
  try {
    const ids: unknown = JSON.parse(transfer?.getData(PHOTOS_MIME) || '[]')
    return Array.isArray(ids) ? ids.filter((id): id is number => Number.isSafeInteger(id) && id > 0) : []
  } catch {
    return []
  }
}
