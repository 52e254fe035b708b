// The compute page's preload (sandboxed, isolated): hands the one MessagePort main sends to the
// page's window, and exposes nothing else. From then on main and the page talk over the port.
import { ipcRenderer } from 'electron'
// Imports nothing the app's preload imports: a shared module would become a chunk, and a
// sandboxed preload can require nothing but 'electron'.
import { COMPUTE_PORT_CHANNEL, COMPUTE_PORT_MESSAGE } from '../core/compute/protocol.ts'

ipcRenderer.once(COMPUTE_PORT_CHANNEL, (event) => {
  window.postMessage(COMPUTE_PORT_MESSAGE, '*', [...(event.ports ?? [])])
})
