// tfjs-node and tfjs-node-gpu 4.22 (the last release) call `util.isNullOrUndefined` and
// `util.isArray`, which Node 23 removed (and Electron 40+ ships Node 24): every op then throws
// "util_1.isNullOrUndefined is not a function". Their compiled code reads the function off the
// `util` module object at each call, so putting the two back on that object before the package
// loads is enough. Upstream fixed the source in April 2025 but has not released it.
import util from 'node:util'

/** The `util` functions tfjs-node 4.22's dist calls (nodejs_kernel_backend.js, kernels/TopK.js). */
export const TFJS_NODE_UTIL_CALLS = {
  isNullOrUndefined: (value: unknown): boolean => value === null || value === undefined,
  isArray: (value: unknown): boolean => Array.isArray(value),
} as const

/** Restores what this Node lacks of TFJS_NODE_UTIL_CALLS; returns the names it had to add. */
export function restoreRemovedUtil(target: object = util): string[] {
  const added: string[] = []
  const record = target as Record<string, unknown>
  for (const [name, fn] of Object.entries(TFJS_NODE_UTIL_CALLS)) {
    if (typeof record[name] === 'function') continue
    Object.defineProperty(target, name, { value: fn, writable: true, configurable: true, enumerable: false })
    added.push(name)
  }
  return added
}
