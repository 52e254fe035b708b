/** Where the Node build for one better-sqlite3 version and one Node ABI is kept. */
export function savedNodeBindingPath(nodeModules: string, version: string, abi: string): string
/** Copies better-sqlite3's Node build aside before the Electron rebuild; never throws. */
export function saveNodeBinding(
  packageDir?: string | null,
  abi?: string,
): { saved: string; reason: null } | { saved: null; reason: string }
