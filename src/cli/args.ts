import { parseArgs, type ParseArgsConfig } from 'node:util'
import { defaultDbPath } from '../core/paths.ts'
import { LibraryFileError } from '../core/store/library-file.ts'
import { ApiError } from '../shared/contract.ts'

/** A usage or input error: printed as one line, no stack. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message)
  }
}

type Options = NonNullable<ParseArgsConfig['options']>

const common = {
  db: { type: 'string' },
  json: { type: 'boolean', default: false },
} as const satisfies Options

/** Parses a command's argv with the flags every command shares (--db, --json). */
export function parseCommand<O extends Options>(argv: string[], options: O) {
  try {
    const { values, positionals } = parseArgs({ args: argv, options: { ...common, ...options }, allowPositionals: true, strict: true })
    const v = values as Record<string, unknown>
    return { values: v as typeof v & { db?: string; json: boolean }, positionals, db: (v.db as string | undefined) ?? defaultDbPath() }
  } catch (err) {
    throw new CliError((err as Error).message)
  }
}

/** Reads a numeric flag, rejecting garbage with a clear message. */
export function intFlag(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0) throw new CliError(`--${name} must be a non-negative integer, got "${String(value)}"`)
  return n
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`)
}

/** Any error as the one line the CLI prints: the message, never a stack trace. */
export function errorLine(err: unknown): string {
  if (err instanceof CliError || err instanceof ApiError || err instanceof LibraryFileError) return `lookalike: ${err.message}`
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code
    const message = err.message.split('\n')[0]
    return `lookalike: ${message}${code && !message.includes(code) ? ` (${code})` : ''} (run again with --debug for details)`
  }
  return `lookalike: ${String(err)}`
}
