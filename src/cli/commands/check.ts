// `lookalike check [--db FILE] [--json]`: SQLite's full integrity_check of the library file (every
// page and every index against its table). Exit 0 when whole, 1 when damaged.
import { existsSync } from 'node:fs'
import { openDb } from '../../core/store/db.ts'
import { integrityProblems, LibraryFileError } from '../../core/store/library-file.ts'
import { CliError, parseCommand, printJson } from '../args.ts'

export async function run(argv: string[]): Promise<number> {
  const { values, positionals, db: dbFile } = parseCommand(argv, {})
  if (positionals.length) throw new CliError(`check takes no arguments, got "${positionals.join(' ')}"`)
  if (!existsSync(dbFile)) throw new CliError(`No library at ${dbFile}`)
  let problems: string[]
  try {
    const db = openDb(dbFile, { readonly: true })
    try {
      problems = integrityProblems(db)
    } finally {
      db.close()
    }
  } catch (err) {
    if (!(err instanceof LibraryFileError)) throw err
    // Damaged beyond opening (or not a library at all): that is the answer.
    if (values.json) printJson({ file: dbFile, ok: false, problems: [err.message] })
    else console.error(`lookalike: ${err.message}`)
    return 1
  }
  if (values.json) printJson({ file: dbFile, ok: problems.length === 0, problems })
  else if (problems.length === 0) console.log(`${dbFile}: ok`)
  else {
    console.error(`lookalike: the library file ${dbFile} is damaged. Restore it from a backup, or index your folders into a new file (lookalike index <folder> --db <new file>).`)
    for (const p of problems) console.error(`  ${p}`)
  }
  return problems.length === 0 ? 0 : 1
}
