// The import rules that keep the layers apart (docs/architecture.md), checked on every source file:
// the engine never imports Electron, the renderer reaches only shared/, the DPQ and search kernels
// do no I/O (they must also run in a browser page), and SQL lives only in core/store/.
import { readdirSync, readFileSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { dirname, join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

const repo = resolve(import.meta.dirname, '..')
const src = join(repo, 'src')

interface SourceFile {
  /** Path relative to the repository, with forward slashes. */
  path: string
  text: string
  /** Every module specifier it imports or re-exports, statically or dynamically. */
  imports: string[]
}

function sourceFiles(dir: string): SourceFile[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(full)
    if (!/\.(ts|svelte)$/.test(entry.name) || entry.name.endsWith('.d.ts')) return []
    const text = readFileSync(full, 'utf8')
    return [{ path: relative(repo, full).split('\\').join('/'), text, imports: importsOf(text) }]
  })
}

function importsOf(text: string): string[] {
  const code = withoutComments(text)
  const out: string[] = []
  for (const m of code.matchAll(/\b(?:import|export)\s[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g)) out.push(m[1])
  for (const m of code.matchAll(/\bimport\s*['"]([^'"]+)['"]/g)) out.push(m[1])
  for (const m of code.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push(m[1])
  return out
}

/** Comments removed (a comment may name what the code must not import). */
function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1').replace(/<!--[\s\S]*?-->/g, '')
}

/** Where a relative specifier points, relative to the repository; packages stay as they are. */
function target(file: SourceFile, specifier: string): string {
  if (!specifier.startsWith('.')) return specifier
  return relative(repo, resolve(dirname(join(repo, file.path)), specifier)).split('\\').join('/')
}

const isNodeBuiltin = (s: string) => s.startsWith('node:') || builtinModules.includes(s.split('/')[0])
const under = (path: string, ...folders: string[]) => folders.some((f) => path === f || path.startsWith(`${f}/`))

const files = sourceFiles(src)

/** Engine modules the compute page runs in the browser (the library's backbone, DPQ, the protocol). */
const PAGE_MODULES = ['src/core/dpq', 'src/core/types.ts', 'src/shared', 'src/core/compute/protocol.ts', 'src/core/embed/backbone.ts', 'src/core/embed/feature-extractor.ts', 'src/core/embed/fused-backbone.ts']

/** Each rule names the files it covers and returns what is wrong with one of them. */
const rules: { name: string; covers: (f: SourceFile) => boolean; problems: (f: SourceFile) => string[] }[] = [
  {
    name: 'core/ never imports electron',
    covers: (f) => under(f.path, 'src/core'),
    problems: (f) => f.imports.filter((s) => s === 'electron' || s.startsWith('electron/')),
  },
  {
    name: 'renderer/ imports only shared/ (and svelte)',
    covers: (f) => under(f.path, 'src/renderer'),
    problems: (f) =>
      f.imports.filter((s) => {
        const t = target(f, s)
        if (s.startsWith('.')) return !under(t, 'src/renderer', 'src/shared')
        return !(s === 'svelte' || s.startsWith('svelte/') || (f.path.endsWith('.spec.ts') && s === 'vitest'))
      }),
  },
  {
    name: 'core/dpq/ and core/search/ do no I/O: only each other, core/types.ts, shared/ and tfjs',
    covers: (f) => under(f.path, 'src/core/dpq', 'src/core/search'),
    problems: (f) => [
      ...f.imports.filter((s) => {
        if (isNodeBuiltin(s)) return true
        if (!s.startsWith('.')) return s !== '@tensorflow/tfjs'
        return !under(target(f, s), 'src/core/dpq', 'src/core/search', 'src/core/types.ts', 'src/shared')
      }),
      ...[...withoutComments(f.text).matchAll(/\b(Buffer|process|setImmediate|__dirname|__filename|require)\b/g)].map((m) => `Node global ${m[1]}`),
    ],
  },
  {
    name: 'compute/ (a browser page) imports only browser-safe engine modules and tfjs',
    covers: (f) => under(f.path, 'src/compute'),
    problems: (f) =>
      f.imports.filter((s) => {
        if (!s.startsWith('.')) return !s.startsWith('@tensorflow/tfjs')
        return !under(target(f, s), 'src/compute', ...PAGE_MODULES)
      }),
  },
  {
    name: 'what the compute page bundles does no Node I/O',
    covers: (f) => under(f.path, 'src/compute', ...PAGE_MODULES),
    problems: (f) => [
      ...f.imports.filter((s) => isNodeBuiltin(s)),
      ...[...withoutComments(f.text).matchAll(/\b(Buffer|process|setImmediate|__dirname|__filename|require)\b/g)].map((m) => `Node global ${m[1]}`),
    ],
  },
  {
    name: 'SQL (prepare / exec) only in core/store/',
    covers: (f) => !under(f.path, 'src/core/store'),
    problems: (f) => [...f.text.matchAll(/\bprepare\s*[(<]|\b\w+\.exec\(\s*[`'"]|\bdb\.exec\(|\.pragma\(/g)].map((m) => m[0]),
  },
]

describe('import boundaries', () => {
  it('finds the source files and their imports', () => {
    expect(files.length).toBeGreaterThan(50)
    expect(importsOf("import { a } from './a.ts'\nexport * from \"../b.ts\"\nconst c = await import('./c.ts')\nimport 'side'")).toEqual(['./a.ts', '../b.ts', 'side', './c.ts'])
  })

  for (const rule of rules) {
    it(rule.name, () => {
      const broken = files.filter(rule.covers).flatMap((f) => rule.problems(f).map((p) => `${f.path}: ${p}`))
      expect(broken).toEqual([])
    })
  }

  it('catches what it is meant to catch', () => {
    const fake = (path: string, text: string): SourceFile => ({ path, text, imports: importsOf(text) })
    const check = (name: string, f: SourceFile) => rules.find((r) => r.name.startsWith(name))!.problems(f)
    expect(check('core/ never', fake('src/core/x.ts', "import { app } from 'electron'"))).toEqual(['electron'])
    expect(check('renderer/', fake('src/renderer/src/x.ts', "import { openDb } from '../../core/store/db.ts'"))).toHaveLength(1)
    expect(check('core/dpq/', fake('src/core/dpq/x.ts', "import { readFileSync } from 'node:fs'\nimport { openDb } from '../store/db.ts'\nconst b = Buffer.from('')"))).toHaveLength(3)
    expect(check('SQL', fake('src/core/library/x.ts', "db.prepare('SELECT 1').get()"))).toHaveLength(1)
    expect(check('SQL', fake('src/main/x.ts', '/^a$/.exec(path)'))).toEqual([])
    expect(check('compute/ (a', fake('src/compute/x.ts', "import { openDb } from '../core/store/db.ts'\nimport { chromium } from 'playwright-core'"))).toHaveLength(2)
    expect(check('what the compute page', fake('src/core/embed/backbone.ts', "import { createRequire } from 'node:module'\nconst b = Buffer.from('')"))).toHaveLength(2)
  })
})
