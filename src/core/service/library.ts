// Library methods: roots, photos, folders, failures and the status line, through the store's repositories.
import * as photos from '../store/photos.ts'
import * as roots from '../store/roots.ts'
import type { ServiceMethods } from './calls.ts'
import type { ServiceContext } from './context.ts'

type LibraryReads = Pick<ServiceMethods, 'listRoots' | 'listFolders' | 'listPhotos' | 'getPhoto' | 'listFailures'>

export function libraryReads(ctx: ServiceContext): LibraryReads {
  const { db } = ctx
  return {
    listRoots: async () => roots.listRoots(db),
    listFolders: async ({ rootId }) => {
      roots.getRoot(db, rootId)
      return photos.listFolders(db, rootId)
    },
    listPhotos: async (input) => photos.listPhotos(db, input),
    getPhoto: async ({ id }) => photos.getPhoto(db, id),
    listFailures: async ({ limit }) => photos.listFailures(db, limit),
  }
}
