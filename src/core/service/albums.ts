// Album methods: the albums repository does the work; the service tells every window that albums changed.
import { importFolderAlbums } from '../library/folder-albums.ts'
import * as albums from '../store/albums.ts'
import type { ServiceMethods } from './calls.ts'
import type { ServiceContext } from './context.ts'

type AlbumMethods = Pick<ServiceMethods, 'listAlbums' | 'createAlbum' | 'renameAlbum' | 'deleteAlbum' | 'addToAlbum' | 'removeFromAlbum' | 'importFolderAlbums'>

export function albumMethods(ctx: ServiceContext): AlbumMethods {
  const { db } = ctx
  const changed = <T>(value: T): T => {
    ctx.events.emit({ type: 'library-changed' })
    return value
  }
  return {
    listAlbums: async () => albums.listAlbums(db),
    createAlbum: async ({ name }) => changed(albums.createAlbum(db, name)),
    renameAlbum: async ({ id, name }) => changed(albums.renameAlbum(db, id, name)),
    deleteAlbum: async ({ id }) => changed((albums.deleteAlbum(db, id), null)),
    addToAlbum: async ({ albumId, photoIds }) => changed(albums.addToAlbum(db, albumId, photoIds)),
    removeFromAlbum: async ({ albumId, photoIds }) => changed(albums.removeFromAlbum(db, albumId, photoIds)),
    importFolderAlbums: async () => changed(importFolderAlbums(db)),
  }
}
