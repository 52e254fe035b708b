// `lookalike albums [list] [--db FILE] [--json]` and `lookalike albums import-folders`: one album
// per first-level sub-folder of each library root. Both through the service, like the app's sidebar.
import { createService } from '../../core/service.ts'
import { ApiError } from '../../shared/contract.ts'
import { CliError, parseCommand, printJson } from '../args.ts'

export async function run(argv: string[]): Promise<number> {
  const { values, positionals, db: dbFile } = parseCommand(argv, {})
  const [action = 'list', ...extra] = positionals
  if (extra.length) throw new CliError(`albums ${action} takes no further arguments, got "${extra.join(' ')}"`)
  if (action !== 'list' && action !== 'import-folders') throw new CliError(`unknown albums action "${action}": use list or import-folders`)
  const service = await createService({ dbFile, embedder: null, watch: false, catchUp: false })
  try {
    if (action === 'list') {
      const albums = await service.listAlbums({})
      if (values.json) printJson(albums)
      else if (albums.length === 0) console.log('No albums yet. Try `lookalike albums import-folders`.')
      else for (const a of albums) console.log(`${String(a.id).padStart(5)}  ${a.name} (${a.photos} photos)`)
      return 0
    }
    const imported = await service.importFolderAlbums({})
    if (values.json) printJson(imported.map(({ album, added }) => ({ ...album, added })))
    else if (imported.length === 0) console.log('No sub-folders with photos under the library roots: nothing to import.')
    else for (const { album, added } of imported) console.log(`${album.name}: ${album.photos} photos (${added} added)`)
    return 0
  } catch (err) {
    if (err instanceof ApiError) throw new CliError(err.message, 1)
    throw err
  } finally {
    await service.close()
  }
}
