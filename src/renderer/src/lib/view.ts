/**
 * What the main area shows: everything, one folder of a root ('' = the whole root), an album, or
 * the duplicate review (not a grid).
 */
export type View = { kind: 'all' } | { kind: 'folder'; rootId: number; folder: string } | { kind: 'album'; albumId: number } | { kind: 'duplicates' }

export function sameView(a: View, b: View): boolean {
  if (a.kind === 'album' && b.kind === 'album') return a.albumId === b.albumId
  if (a.kind === 'folder' && b.kind === 'folder') return a.rootId === b.rootId && a.folder === b.folder
  return a.kind === b.kind
}
