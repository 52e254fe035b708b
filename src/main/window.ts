// The one window: locked down, sized as the user left it, shown once painted.
import { BrowserWindow, nativeTheme, screen } from 'electron'
import { DEFAULT_STATE, MIN_SIZE, fitToDisplays, loadWindowState, saveWindowState, type WindowState } from './window-state.ts'
import { hardenWebContents, secureWebPreferences } from './security.ts'

export interface MainWindowOptions {
  appUrl: string
  preload: string
  stateFile: string
  icon?: string
}

export function createMainWindow(options: MainWindowOptions): BrowserWindow {
  const state = fitToDisplays(loadWindowState(options.stateFile), screen.getAllDisplays().map((d) => d.workArea))
  const window = new BrowserWindow({
    ...state.bounds,
    minWidth: MIN_SIZE.width,
    minHeight: MIN_SIZE.height,
    show: false,
    title: 'Lookalike',
    icon: options.icon,
    // The theme's background, so no white flash before the first paint.
    backgroundColor: nativeTheme.shouldUseDarkColors ? '#18181c' : '#f6f6f8',
    webPreferences: secureWebPreferences(options.preload),
  })
  hardenWebContents(window.webContents, options.appUrl)
  if (state.maximized) window.maximize()
  window.once('ready-to-show', () => window.show())

  let saved: WindowState = state
  const remember = () => {
    if (window.isDestroyed()) return
    saved = window.isMaximized() ? { ...saved, maximized: true } : { bounds: window.getNormalBounds(), maximized: false }
  }
  window.on('resize', remember)
  window.on('move', remember)
  window.on('close', () => {
    remember()
    try {
      saveWindowState(options.stateFile, saved ?? DEFAULT_STATE)
    } catch {
      // A read-only profile folder costs the remembered size, nothing else.
    }
  })

  void window.loadURL(options.appUrl)
  return window
}
