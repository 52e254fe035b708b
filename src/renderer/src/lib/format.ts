// How numbers read in the UI.
import { CODE_BITS, type PhotoDetail, type Precision } from '../../../shared/types.ts'

export function formatCount(n: number): string {
  return n.toLocaleString('en-US')
}

export function formatEta(seconds: number | null | undefined): string {
  if (seconds == null || !Number.isFinite(seconds)) return '—'
  if (seconds < 60) return `${Math.ceil(seconds)} s`
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`
}

export function formatMs(ms: number | null | undefined): string {
  if (ms == null) return '—'
  return ms < 10 ? `${ms.toFixed(2)} ms` : `${Math.round(ms)} ms`
}

export function formatMap(map: number | null | undefined): string {
  return map == null ? '—' : map.toFixed(3)
}

export function precisionLabel(p: Precision): string {
  return p === 'exact' ? 'exact' : `${p} bits`
}

/** The slider's stops, left to right. */
export const PRECISION_STOPS: Precision[] = [...CODE_BITS, 'exact']

export function basename(path: string): string {
  return path.slice(path.replace(/\\/g, '/').lastIndexOf('/') + 1)
}

/** Where the CNN runs, in the status bar's words. */
export function backendLabel(backend: string | undefined): { label: string; title: string } {
  switch (backend) {
    case 'node-gpu':
      return { label: 'GPU', title: 'TensorFlow on the GPU (CUDA)' }
    case 'node':
      return { label: 'CPU', title: 'Native TensorFlow on the CPU' }
    case 'wasm':
      return { label: 'WASM', title: 'WebAssembly (SIMD) on the CPU' }
    case 'cpu':
      return { label: 'JS', title: 'Plain JavaScript on the CPU (slowest)' }
    case undefined:
      return { label: '…', title: 'Connecting' }
    case 'none':
      return { label: 'no CNN', title: 'This library runs without an image model' }
    default:
      return { label: 'idle', title: 'The image model loads when it is first needed' }
  }
}

/** One line under the query photo: when, how large, which camera. */
export function describePhoto(photo: Pick<PhotoDetail, 'takenAt' | 'width' | 'height' | 'camera'>): string {
  const parts = [new Date(photo.takenAt).toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: 'numeric' })]
  if (photo.width && photo.height) parts.push(`${photo.width}×${photo.height}`)
  if (photo.camera) parts.push(photo.camera)
  return parts.join(' · ')
}
