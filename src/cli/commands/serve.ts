// `lookalike serve --db FILE --port P [--json]`: web mode on 127.0.0.1 until Ctrl-C.
import { createService } from '../../core/service.ts'
import { startServer } from '../../server/index.ts'
import { CliError, intFlag, parseCommand, printJson } from '../args.ts'

export async function run(argv: string[]): Promise<number> {
  const { values, positionals, db } = parseCommand(argv, {
    port: { type: 'string' },
    'no-watch': { type: 'boolean', default: false },
  })
  if (positionals.length) throw new CliError(`serve takes no arguments, got "${positionals.join(' ')}"`)
  const port = intFlag(values.port, 'port', 7420)
  if (port > 65535) throw new CliError(`--port must be 0…65535, got ${port}`)

  const service = await createService({ dbFile: db, watch: !values['no-watch'] })
  let server
  try {
    server = await startServer({ service, port })
  } catch (err) {
    await service.close()
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EADDRINUSE') throw new CliError(`Port ${port} is in use: pick another with --port (0 picks a free one)`)
    throw err
  }
  // stdout carries exactly the one line a test or script waits for; everything else goes to stderr.
  if (!server.webBuilt) console.error(`lookalike serve: the web UI is not built (${server.webDir} is missing); run \`npm run build:web\`. The API answers meanwhile.`)
  if (values.json) printJson({ url: server.url })
  else console.log(`Lookalike is at ${server.url}\n(library ${db}; Ctrl-C stops it)`)

  await new Promise<void>((resolve) => {
    const stop = () => resolve()
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
  await server.close()
  await service.close()
  return 0
}
