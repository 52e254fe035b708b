// tfjs-node 4.22 under Node ≥ 23: the util functions it calls are removed here on purpose (this
// machine runs Node 20, where they still exist), then the shim must bring back exactly what the
// package's compiled code needs.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join, resolve } from 'node:path'
import util from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { restoreRemovedUtil, TFJS_NODE_UTIL_CALLS } from '../src/core/embed/node-util-shim.ts'

const require = createRequire(import.meta.url)
const REPO = resolve(import.meta.dirname, '..')
const record = util as unknown as Record<string, unknown>
const original = Object.fromEntries(Object.keys(TFJS_NODE_UTIL_CALLS).map((name) => [name, record[name]]))

/** Node 23's util: the functions tfjs-node calls are gone. */
function removeAsNode23Did(): void {
  for (const name of Object.keys(TFJS_NODE_UTIL_CALLS)) delete record[name]
}

afterAll(() => {
  for (const [name, fn] of Object.entries(original)) if (fn) record[name] = fn
})

/** `util_1.<name>` calls in the compiled JavaScript under `dir`. */
function utilCallsIn(dir: string): Set<string> {
  const names = new Set<string>()
  const walk = (d: string) => {
    for (const entry of readdirSync(d)) {
      const path = join(d, entry)
      if (statSync(path).isDirectory()) walk(path)
      else if (path.endsWith('.js')) {
        const source = readFileSync(path, 'utf8')
        // Only the binding of Node's own util module (tfjs' `util` namespace is another thing).
        const binding = /(?:var|const|let) (\w+) = require\("util"\)/.exec(source)?.[1]
        if (!binding) continue
        for (const m of source.matchAll(new RegExp(`\\b${binding}\\.(\\w+)\\b`, 'g'))) names.add(m[1])
      }
    }
  }
  walk(dir)
  return names
}

describe('tfjs-node util shim', () => {
  it('without the shim, tfjs-node-shaped code fails as it does on Node 23; with it, it computes', () => {
    const calls = require('./fixtures/tfjs-node-util-calls.cjs') as {
      createTensorsTypeOpAttr(name: string, value: unknown): { value: unknown }
      topKAttrs(k?: number, sorted?: boolean): { k: number; sorted: boolean }
    }
    removeAsNode23Did()
    expect(() => calls.createTensorsTypeOpAttr('T', 'float32')).toThrow(/util_1.isNullOrUndefined\) is not a function/)

    expect(restoreRemovedUtil().sort()).toEqual(['isArray', 'isNullOrUndefined'])
    expect(calls.createTensorsTypeOpAttr('T', 'float32').value).toBe('float32')
    expect(calls.createTensorsTypeOpAttr('T', [{ dtype: 'int32' }]).value).toBe('int32')
    expect(() => calls.createTensorsTypeOpAttr('T', null)).toThrow('Invalid input tensors value.')
    expect(calls.topKAttrs(undefined, undefined)).toEqual({ k: 1, sorted: true })
    expect(calls.topKAttrs(5, false)).toEqual({ k: 5, sorted: false })
    // Applied twice (every backend probe calls it): nothing more to add.
    expect(restoreRemovedUtil()).toEqual([])
  })

  it('keeps a Node that still has the functions as it is', () => {
    const legacy = { isNullOrUndefined: () => 'own', isArray: () => 'own' }
    expect(restoreRemovedUtil(legacy)).toEqual([])
    expect(legacy.isNullOrUndefined()).toBe('own')
  })

  it('covers every util function the installed tfjs-node packages call', (context) => {
    const dists = ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'].map((p) => join(REPO, 'node_modules', p, 'dist')).filter(existsSync)
    if (dists.length === 0) {
      context.skip('neither tfjs-node package is installed here (their libtensorflow download fails offline); the fixture mirrors 4.22')
      return
    }
    for (const dist of dists) {
      const missing = [...utilCallsIn(dist)].filter((name) => typeof record[name] !== 'function' && !(name in TFJS_NODE_UTIL_CALLS))
      expect(missing, dist).toEqual([])
    }
  })
})
