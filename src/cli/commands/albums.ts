// `lookalike albums [list] [--db FILE] [--json]` and `lookalike albums import-folders`: one album
// per first-level sub-folder of each library root.
import { importFolderAlbums } from '../../core/library/folder-albums.ts'
import { openDb } from '../../core/store/db.ts'
import { listAlbums } from '../../core/store/albums.ts'
import { CliError, parseCommand, printJson } from '../args.ts'

export async function run(argv: string[]): Promise<number> {
  const { values, positionals, db: dbFile } = parseCommand(argv, {})
  const [action = 'list', ...extra] = positionals
  if (extra.length) throw new CliError(`albums ${action} takes no further arguments, got "${extra.join(' ')}"`)
  const db = openDb(dbFile)
  try {
    switch (action) {
      case 'list': {
        const albums = listAlbums(db)
        if (values.json) printJson(albums)
        else if (albums.length === 0) console.log('No albums yet. Try `lookalike albums import-folders`.')
        else for (const a of albums) console.log(`${String(a.id).padStart(5)}  ${a.name} (${a.photos} photos)`)
        return 0
      }
      case 'import-folders': {
        const imported = importFolderAlbums(db)
        if (values.json) printJson(imported.map(({ album, added }) => ({ ...album, added })))
        else if (imported.length === 0) console.log('No sub-folders with photos under the library roots: nothing to import.')
        else for (const { album, added } of imported) console.log(`${album.name}: ${album.photos} photos (${added} added)`)
        return 0
      }
      default:
        throw new CliError(`unknown albums action "${action}": use list or import-folders`)
    }
  } finally {
    db.close()
  }
}
