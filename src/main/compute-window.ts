// The compute page in a hidden window: sandboxed, isolated, no Node, never throttled in the
// background, navigation refused. Main talks to it over a MessagePort (the compute protocol);
// the window going away (renderer crash, GPU process reset, closed) or hanging ends the channel,
// and the client fails what the page held.
import { BrowserWindow, MessageChannelMain } from 'electron'
import type { ComputeChannel } from '../core/compute/client.ts'
import { COMPUTE_PORT_CHANNEL, type ComputeReply } from '../core/compute/protocol.ts'
import { COMPUTE_PAGE_URL } from './compute-protocol.ts'
import { hardenWebContents, secureWebPreferences } from './security.ts'

export interface ComputeWindow {
  channel: ComputeChannel
  close(): void
}

export function openComputeWindow(preload: string): ComputeWindow {
  const window = new BrowserWindow({
    show: false,
    width: 64,
    height: 64,
    title: 'Lookalike compute',
    // A hidden window is a background one: throttled timers would stall every batch.
    webPreferences: { ...secureWebPreferences(preload), backgroundThrottling: false },
  })
  hardenWebContents(window.webContents, COMPUTE_PAGE_URL)
  const { port1, port2 } = new MessageChannelMain()
  const listeners: ((m: ComputeReply) => void)[] = []
  const lostListeners: ((reason: string) => void)[] = []
  let gone: string | null = null
  const lose = (reason: string) => {
    if (gone) return
    gone = reason
    for (const l of lostListeners) l(reason)
  }

  port1.on('message', (event) => {
    for (const l of listeners) l(event.data as ComputeReply)
  })
  port1.on('close', () => lose('the compute page closed its port'))
  port1.start()
  window.webContents.once('did-finish-load', () => window.webContents.postMessage(COMPUTE_PORT_CHANNEL, null, [port2]))
  window.webContents.on('did-fail-load', (_event, code, description) => lose(`the compute page did not load (${code} ${description})`))
  window.webContents.on('render-process-gone', (_event, details) => lose(`the compute page's renderer is gone (${details.reason})`))
  window.on('unresponsive', () => lose('the compute page stopped responding'))
  window.on('closed', () => lose('the compute window closed'))
  void window.loadURL(COMPUTE_PAGE_URL)

  const close = () => {
    port1.close()
    if (!window.isDestroyed()) window.destroy()
  }
  return {
    channel: {
      // Electron moves only ports across processes; the buffers are copied by the IPC anyway.
      post: (message) => port1.postMessage(message),
      onMessage: (listener) => listeners.push(listener),
      onLost: (listener) => (gone ? listener(gone) : lostListeners.push(listener)),
      close,
    },
    close,
  }
}
