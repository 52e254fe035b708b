// Electron's security checklist, in one place: locked-down web preferences, no navigation away
// from the app, no new windows, no permissions, no <webview>. Pure where it can be, for tests.
import type { Session, WebContents, WebPreferences } from 'electron'

export function secureWebPreferences(preload: string): WebPreferences {
  return {
    preload,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    webviewTag: false,
    // A dropped file must reach the page (search by image), not replace it.
    navigateOnDragDrop: false,
    spellcheck: false,
  }
}

/**
 * Is `url` the app's own page? The renderer is one page: the built index.html on the app scheme
 * (app://lookalike/), or in development the electron-vite dev server's origin. Query and hash may
 * differ; nothing else.
 */
export function isAppUrl(url: string, appUrl: string): boolean {
  let target: URL
  let app: URL
  try {
    target = new URL(url)
    app = new URL(appUrl)
  } catch {
    return false
  }
  if (target.protocol !== app.protocol) return false
  if (app.protocol === 'file:') return target.pathname === app.pathname
  // A custom scheme's origin reads "null" to the URL parser: compare its host instead.
  if (app.origin === 'null') return target.host === app.host && !target.username && !target.password && !target.port
  return target.origin === app.origin
}

/** Navigation, redirects and new windows are refused unless they stay on the app's page. */
export function hardenWebContents(contents: WebContents, appUrl: string): void {
  const guard = (details: { preventDefault(): void; url: string }) => {
    if (!isAppUrl(details.url, appUrl)) details.preventDefault()
  }
  contents.on('will-navigate', guard)
  contents.on('will-redirect', guard)
  contents.on('will-frame-navigate', guard)
  contents.on('will-attach-webview', (event) => event.preventDefault())
  contents.setWindowOpenHandler(() => ({ action: 'deny' }))
}

/** The app needs no camera, microphone, notifications, geolocation, …: every request is denied. */
export function denyAllPermissions(session: Session): void {
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false))
  session.setPermissionCheckHandler(() => false)
  session.setDevicePermissionHandler?.(() => false)
}
