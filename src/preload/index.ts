// Runs sandboxed, before the renderer: exposes the contract (and nothing else) as window.lookalike.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron'
import { buildDesktopApi } from './api.ts'

const api = buildDesktopApi(
  (channel, input) => ipcRenderer.invoke(channel, input),
  (channel, listener) => {
    const handler = (_event: IpcRendererEvent, payload: unknown) => listener(payload)
    ipcRenderer.on(channel, handler)
    return () => ipcRenderer.removeListener(channel, handler)
  },
)

contextBridge.exposeInMainWorld('lookalike', api)
