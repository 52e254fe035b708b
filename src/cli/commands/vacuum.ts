// `lookalike vacuum [--db FILE] [--json]`: removes thumbnails, features, activation maps and
// codes no photo has any more, then gives the library file's free pages back to the disk.
import { existsSync } from 'node:fs'
import { createService } from '../../core/service.ts'
import { CliError, parseCommand, printJson } from '../args.ts'

export async function run(argv: string[]): Promise<number> {
  const { values, positionals, db: dbFile } = parseCommand(argv, {})
  if (positionals.length) throw new CliError(`vacuum takes no arguments, got "${positionals.join(' ')}"`)
  if (!existsSync(dbFile)) throw new CliError(`No library at ${dbFile}`)
  // The service's own vacuum; nothing else of a session (no image model, no watching, no catching up).
  const service = await createService({ dbFile, embedder: null, watch: false, catchUp: false })
  try {
    const result = await service.vacuum({})
    if (values.json) printJson(result)
    else {
      const mb = (n: number) => `${(n / 2 ** 20).toFixed(1)} MB`
      const { thumbnails, features, activations, codes } = result.removed
      console.log(`Removed ${thumbnails} thumbnails, ${features} features, ${activations} activation maps and ${codes} codes of photos no longer in the library`)
      console.log(`${dbFile}: ${mb(result.bytesBefore)} → ${mb(result.bytesAfter)}`)
    }
    return 0
  } finally {
    await service.close()
  }
}
