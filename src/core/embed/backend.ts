// Picks the fastest tfjs backend that works on this machine: CUDA (tfjs-node-gpu), native
// TensorFlow (tfjs-node), WebAssembly with SIMD, then plain JS. The node packages are optional
// installs, so their absence is the normal case and is never reported as a problem.
import * as tf from '@tensorflow/tfjs'
import { restoreRemovedUtil } from './node-util-shim.ts'

export type BackendName = 'node-gpu' | 'node' | 'wasm' | 'cpu'
export type BackendKind = 'gpu' | 'cpu' | 'wasm'

export interface BackendChoice {
  name: BackendName
  kind: BackendKind
  /** The tfjs registry name ('tensorflow' for both node packages). */
  tfBackend: string
  /** Why each better-ranked backend was passed over (empty when the first choice worked). */
  skipped: { name: BackendName; reason: string }[]
}

export const BACKEND_ORDER: readonly BackendName[] = ['node-gpu', 'node', 'wasm', 'cpu']

const KIND: Record<BackendName, BackendKind> = { 'node-gpu': 'gpu', node: 'cpu', wasm: 'wasm', cpu: 'cpu' }
const PACKAGE: Partial<Record<BackendName, string>> = {
  'node-gpu': '@tensorflow/tfjs-node-gpu',
  node: '@tensorflow/tfjs-node',
}

export interface BackendOptions {
  /** Force one backend; defaults to $LOOKALIKE_BACKEND, else the first that works. */
  backend?: string
  /**
   * wasm in a browser only: XNNPACK threads. Under Node tfjs disables threaded wasm, so this does
   * nothing there and parallelism comes from worker threads (see embedder.ts).
   */
  threads?: number
}

export class BackendUnavailableError extends Error {}

let chosen: Promise<BackendChoice> | undefined
let chosenKey = ''

/**
 * Selects and activates a backend once per thread; later calls with the same options return the
 * same answer cheaply, so `lookalike status` and the UI can ask for it.
 */
export function selectBackend(options: BackendOptions = {}): Promise<BackendChoice> {
  const forced = options.backend ?? process.env.LOOKALIKE_BACKEND ?? ''
  const key = `${forced}|${options.threads ?? ''}`
  if (!chosen || chosenKey !== key) {
    chosenKey = key
    chosen = choose(forced, options.threads)
    chosen.catch(() => {
      chosen = undefined
    })
  }
  return chosen
}

async function choose(forced: string, threads: number | undefined): Promise<BackendChoice> {
  // Production mode: no debug checks, and no "install tfjs-node" banner on the cpu backend.
  tf.env().set('PROD', true)
  if (forced && forced !== 'auto') {
    if (!BACKEND_ORDER.includes(forced as BackendName)) {
      throw new BackendUnavailableError(`unknown backend "${forced}": use one of ${BACKEND_ORDER.join(', ')}`)
    }
    const name = forced as BackendName
    const failure = await activate(name, threads)
    if (failure) throw new BackendUnavailableError(`backend "${name}" was requested but is unavailable: ${failure}`)
    return { name, kind: KIND[name], tfBackend: tf.getBackend(), skipped: [] }
  }
  const skipped: BackendChoice['skipped'] = []
  for (const name of BACKEND_ORDER) {
    const failure = await activate(name, threads)
    if (!failure) return { name, kind: KIND[name], tfBackend: tf.getBackend(), skipped }
    skipped.push({ name, reason: failure })
  }
  throw new BackendUnavailableError(`no tfjs backend works here: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`)
}

/** Makes `name` the active backend; returns why it cannot be, or null on success. */
async function activate(name: BackendName, threads: number | undefined): Promise<string | null> {
  try {
    let tfName: string = name
    const pkg = PACKAGE[name]
    if (pkg) {
      // TensorFlow's C++ logging would otherwise print CUDA library warnings on machines without a GPU.
      process.env.TF_CPP_MIN_LOG_LEVEL ??= '2'
      const failure = await importOptional(pkg)
      if (failure) return failure
      tfName = 'tensorflow'
      // tfjs-node-gpu and tfjs-node register the same name: once the GPU build is loaded, it is the one.
      if (name === 'node' && loaded.get(PACKAGE['node-gpu']!) === null) return 'the GPU build is loaded instead'
    } else if (name === 'wasm') {
      const wasm = await import('@tensorflow/tfjs-backend-wasm')
      if (threads && threads > 0) wasm.setThreadsCount(threads)
    }
    if (!(await tf.setBackend(tfName))) return `tfjs could not initialise "${tfName}"`
    await tf.ready()
    return selfCheck() ? null : 'self-check gave a wrong product'
  } catch (err) {
    return err instanceof Error ? err.message.split('\n')[0] : String(err)
  }
}

/** Per optional package: null once imported, else why it could not be. */
const loaded = new Map<string, string | null>()

/** Dynamic import that treats "not installed" as a normal answer; returns why it failed, or null. */
async function importOptional(pkg: string): Promise<string | null> {
  if (loaded.has(pkg)) return loaded.get(pkg)!
  let failure: string | null = null
  // Node ≥ 23 (and Electron 40+) removed util functions the 4.22 packages call on every op.
  restoreRemovedUtil()
  try {
    // A variable specifier keeps bundlers and the typechecker from requiring the package.
    const specifier = pkg
    await import(specifier)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const message = err instanceof Error ? err.message : String(err)
    // Absent is the normal case; installed but broken (no native binary, wrong CUDA) says why.
    failure = (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && message.includes(pkg) ? `${pkg} is not installed` : `${pkg} failed to load: ${message.split('\n')[0]}`
  }
  loaded.set(pkg, failure)
  return failure
}

/** [[1,2],[3,4]] × [[5,6],[7,8]] = [[19,22],[43,50]]: catches a backend that loads but computes garbage. */
function selfCheck(): boolean {
  const product = tf.tidy(() => tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor2d([5, 6, 7, 8], [2, 2])).dataSync())
  return [19, 22, 43, 50].every((v, i) => Math.abs(product[i] - v) < 1e-4)
}
