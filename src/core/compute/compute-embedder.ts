// The compute page behind the engine's Embedder seam, and the same in headless Chromium for
// benchmarks and tests (no fallback there: a benchmark must say what failed, not hide it).
import { readBackboneArtifacts } from '../embed/backbone-files.ts'
import type { Embedder } from '../types.ts'
import type { ComputeClient, ConnectOptions } from './client.ts'
import { connectCompute } from './client.ts'
import type { BackendCheck, ComputeAdapter, ComputeBackendName } from './protocol.ts'

export interface ComputeEmbedder extends Embedder {
  readonly adapter: ComputeAdapter | null
  readonly checks: BackendCheck[]
}

export function computeEmbedder(client: ComputeClient, onClose: () => Promise<void> = async () => {}): ComputeEmbedder {
  return {
    backboneId: client.backboneId,
    backend: client.backend,
    dim: client.dim,
    adapter: client.adapter,
    checks: client.checks,
    embed: (inputs) => client.embed(inputs),
    async close() {
      client.close()
      await onClose()
    },
  }
}

/** Headless Chromium usually has only the software adapter: a photo may take many seconds. */
export const SOFTWARE_DEADLINES = { initMs: 600_000, embedPerPhotoMs: 60_000 }

export interface ChromiumEmbedder extends ComputeEmbedder {
  readonly chromiumVersion: string
}

/** The compute page in headless Chromium, initialised with the library's backbone. */
export async function createChromiumEmbedder(options: { backends?: ComputeBackendName[]; deadlines?: ConnectOptions['deadlines'] } = {}): Promise<ChromiumEmbedder> {
  const { launchChromiumCompute } = await import('./chromium.ts')
  const chromium = await launchChromiumCompute()
  try {
    const client = await connectCompute(chromium.channel, { artifacts: readBackboneArtifacts(), backends: options.backends, deadlines: { ...SOFTWARE_DEADLINES, ...options.deadlines } })
    return { ...computeEmbedder(client, () => chromium.close()), chromiumVersion: chromium.version }
  } catch (err) {
    await chromium.close()
    throw err
  }
}
