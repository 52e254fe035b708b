// `lookalike` — the command line. Each command lives in ./commands/<name>.ts and exports
// `run(argv): Promise<number>` (the exit code). Output for machines with --json.
import { CliError, errorLine } from './args.ts'

type Command = { run(argv: string[]): Promise<number> }

const commands: Record<string, { summary: string; load: () => Promise<Command> }> = {
  index: { summary: 'index a folder: <folder> [--no-embed] [--backend B]; adds it to the library', load: () => import('./commands/index.ts') },
  albums: { summary: 'list albums, or `albums import-folders`: one album per sub-folder', load: () => import('./commands/albums.ts') },
  status: { summary: 'photo counts, folders, albums, active model, jobs, backend', load: () => import('./commands/status.ts') },
  similar: { summary: 'photos like a library photo (id or path) or any image file (--bits N|exact, --top K)', load: () => import('./commands/similar.ts') },
  bench: { summary: 'benchmarks: `bench search --n 1000000`, printing JSON with --json', load: () => import('./commands/bench.ts') },
  train: { summary: 'retrain DPQ on the albums (two albums of five photos), re-encode, activate; mAP before/after', load: () => import('./commands/train.ts') },
  eval: { summary: 'the paper\'s protocol on a labelled folder: <folder> [--labels folders|tsv:FILE] [--train-per-class N] [--queries-per-class Q]; --unsupervised scores the library\'s own model and search', load: () => import('./commands/eval.ts') },
  duplicates: { summary: 'groups of duplicate photos, keeper first (--tier duplicates|similar, --threshold T, --csv); never deletes', load: () => import('./commands/duplicates.ts') },
  vacuum: { summary: 'remove what deleted or changed photos left behind and shrink the library file', load: () => import('./commands/vacuum.ts') },
  check: { summary: 'check the library file for damage (SQLite integrity_check); exit 1 when damaged', load: () => import('./commands/check.ts') },
  serve: { summary: 'web mode: the app in a browser on 127.0.0.1 (--port P, --json prints the URL)', load: () => import('./commands/serve.ts') },
}

function usage(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`)
  return ['Usage: lookalike <command> [options]', '', 'Commands:', ...lines, '', 'Every command accepts --db FILE (default: the app-data library) and --json; --debug prints an error\'s stack trace.'].join('\n')
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage())
    return name ? 0 : 1
  }
  const command = commands[name]
  if (!command) {
    console.error(`lookalike: unknown command "${name}"\n\n${usage()}`)
    return 2
  }
  return (await command.load()).run(rest)
}

// An error is one line for the user; --debug (anywhere on the line) adds the stack trace.
const argv = process.argv.slice(2)
const debug = argv.includes('--debug') || process.env.LOOKALIKE_DEBUG === '1'
main(argv.filter((a) => a !== '--debug')).then(
  (code) => {
    process.exitCode = code
  },
  (err: unknown) => {
    console.error(errorLine(err))
    if (debug && err instanceof Error && !(err instanceof CliError)) console.error(err.stack)
    process.exitCode = err instanceof CliError ? err.exitCode : 1
  },
)
