// Electron main: composes the shell's modules around the engine's service. Thin on purpose —
// everything with logic lives in a module testable without Electron.
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { BrowserWindow, app, dialog, ipcMain, net, protocol, session, shell, type BrowserWindow as Window } from 'electron'
import { createService, type LookalikeService } from '../core/service.ts'
import { readBackboneArtifacts } from '../core/embed/backbone-files.ts'
import { createEmbedder } from '../core/embed/embedder.ts'
import { appDataDir, defaultDbPath } from '../core/paths.ts'
import { createDesktopEmbedder, type DesktopEmbedder } from './compute.ts'
import { COMPUTE_SCHEME, computeSchemePrivileges, resolveComputeRequest } from './compute-protocol.ts'
import { openComputeWindow } from './compute-window.ts'
import { EVENT_CHANNEL } from '../preload/channels.ts'
import { createIpcDispatcher } from './ipc.ts'
import { APP_SCHEME, APP_URL, appResponse, appSchemePrivileges, resolveAppRequest } from './app-protocol.ts'
import { IMAGE_SCHEME, imageSchemePrivileges, resolveImageRequest } from './protocol.ts'
import { denyAllPermissions, hardenWebContents } from './security.ts'
import { trashDuplicates } from './trash.ts'
import { startupFailure } from './startup-error.ts'
import { createMainWindow } from './window.ts'

const here = import.meta.dirname
const rendererDir = join(here, '..', 'renderer')
// electron-vite sets ELECTRON_RENDERER_URL in development only; otherwise the built renderer
// loads from the app scheme, never from file://.
const appUrl = !app.isPackaged && process.env.ELECTRON_RENDERER_URL ? process.env.ELECTRON_RENDERER_URL : APP_URL

// Same library as the CLI: one app-data folder for both.
app.setPath('userData', appDataDir())
protocol.registerSchemesAsPrivileged([appSchemePrivileges, imageSchemePrivileges, computeSchemePrivileges])
const computePageDir = join(here, '..', 'compute')

if (!app.requestSingleInstanceLock()) app.quit()
else void start()

async function start(): Promise<void> {
  await app.whenReady()
  // Photo features on the GPU through the compute page (a hidden window), unless a backend is
  // forced ($LOOKALIKE_BACKEND, as for the CLI): then, and whenever the page is not worth it or
  // fails, the Node worker pool. Retrain trains there too, while the page is in use.
  let desktop: DesktopEmbedder | null = null
  const embedder = process.env.LOOKALIKE_BACKEND
    ? 'auto'
    : () =>
        createDesktopEmbedder({
          open: () => openComputeWindow(join(here, '..', 'preload', 'compute.cjs')),
          artifacts: readBackboneArtifacts,
          fallback: () => createEmbedder(),
        }).then((e) => (desktop = e))
  const dbFile = process.env.LOOKALIKE_DB ?? defaultDbPath()
  let service: LookalikeService
  try {
    service = await createService({ dbFile, embedder, trainer: () => desktop?.trainer?.() ?? null })
  } catch (err) {
    const { title, message } = startupFailure(err, dbFile)
    dialog.showErrorBox(title, message)
    app.exit(1)
    return
  }
  let window: Window | null = null

  denyAllPermissions(session.defaultSession)
  // Any web contents created later (devtools aside) gets the same navigation rules.
  app.on('web-contents-created', (_event, contents) => hardenWebContents(contents, appUrl))

  protocol.handle(APP_SCHEME, async (request) => appResponse(await resolveAppRequest(rendererDir, request.method, request.url)))
  protocol.handle(IMAGE_SCHEME, async (request) => {
    const answer = await resolveImageRequest(service, request.method, request.url)
    if ('file' in answer) return net.fetch(pathToFileURL(answer.file).href, { bypassCustomProtocolHandlers: true })
    return new Response(answer.message, { status: answer.status, headers: { 'Content-Type': 'text/plain; charset=utf-8' } })
  })

  protocol.handle(COMPUTE_SCHEME, async (request) => {
    const answer = resolveComputeRequest(request.method, request.url, computePageDir)
    if ('file' in answer) return net.fetch(pathToFileURL(answer.file).href, { bypassCustomProtocolHandlers: true })
    return new Response(answer.message, { status: answer.status, headers: { 'Content-Type': 'text/plain; charset=utf-8' } })
  })

  const { channels, dispatch } = createIpcDispatcher({
    service,
    appUrl,
    windowContentsId: () => (window && !window.isDestroyed() ? window.webContents.id : null),
    pickFolder: async () => {
      if (!window) return null
      const picked = await dialog.showOpenDialog(window, { title: 'Add a photo folder', buttonLabel: 'Add folder', properties: ['openDirectory'] })
      return picked.canceled ? null : (picked.filePaths[0] ?? null)
    },
    trashDuplicates: (input) => trashDuplicates(service, input, (file) => shell.trashItem(file)),
  })
  for (const channel of channels) {
    ipcMain.handle(channel, (event, input) => dispatch(channel, { webContentsId: event.sender.id, frame: event.senderFrame }, input))
  }

  service.onEvent((event) => {
    for (const w of BrowserWindow.getAllWindows()) if (!w.webContents.isDestroyed()) w.webContents.send(EVENT_CHANNEL, event)
  })

  const open = () => {
    window = createMainWindow({
      appUrl,
      preload: join(here, '..', 'preload', 'index.cjs'),
      stateFile: join(appDataDir(), 'window-state.json'),
      icon: join(here, '..', '..', 'resources', 'icons', '512x512.png'),
    })
    window.on('closed', () => (window = null))
  }
  open()

  app.on('second-instance', () => window?.show())
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) open()
  })
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit()
  })
  app.on('before-quit', () => void closeService(service))
}

let closing: Promise<void> | null = null
function closeService(service: LookalikeService): Promise<void> {
  closing ??= service.close().catch((err: unknown) => console.error('lookalike: closing the library failed', err))
  return closing
}
