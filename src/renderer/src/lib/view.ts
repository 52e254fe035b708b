/** What the grid shows: everything, one folder of a root ('' = the whole root), or an album. */
export type View = { kind: 'all' } | { kind: 'folder'; rootId: number; folder: string } | { kind: 'album'; albumId: number }

export function sameView(a: View, b: View): boolean {
  if (a.kind === 'album' && b.kind === 'album') return a.albumId === b.albumId
  if (a.kind === 'folder' && b.kind === 'folder') return a.rootId === b.rootId && a.folder === b.folder
  return a.kind === b.kind
}
