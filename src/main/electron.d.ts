// The slice of Electron's API the shell uses. The Electron package cannot be installed on the build
// machines (its binary download fails), so its own types are absent there; this ambient module keeps
// `tsc` honest about what we call. Signatures follow electron.d.ts of Electron 41.
declare module 'electron' {
  export interface Rectangle {
    x: number
    y: number
    width: number
    height: number
  }
  export interface Display {
    workArea: Rectangle
  }
  export interface WebFrameMain {
    readonly url: string
    readonly parent: WebFrameMain | null
    readonly top: WebFrameMain | null
  }
  export interface Event {
    preventDefault(): void
  }
  export interface HandlerDetails {
    url: string
  }
  export interface WebContents {
    readonly id: number
    readonly mainFrame: WebFrameMain
    send(channel: string, ...args: unknown[]): void
    setWindowOpenHandler(handler: (details: HandlerDetails) => { action: 'deny' } | { action: 'allow' }): void
    /** Electron passes the target in `details.url` (the extra url arguments are deprecated). */
    on(event: 'will-navigate' | 'will-redirect' | 'will-frame-navigate', listener: (details: Event & { url: string }) => void): this
    on(event: 'will-attach-webview', listener: (event: Event) => void): this
    on(event: 'did-fail-load', listener: (event: Event, errorCode: number, errorDescription: string) => void): this
    on(event: 'render-process-gone', listener: (event: Event, details: { reason: string; exitCode: number }) => void): this
    once(event: 'did-finish-load', listener: () => void): this
    /** Sends a message to the renderer's preload, transferring MessagePortMain objects. */
    postMessage(channel: string, message: unknown, transfer?: MessagePortMain[]): void
    isDestroyed(): boolean
  }
  export interface MessageEvent {
    data: unknown
    ports: MessagePortMain[]
  }
  export class MessagePortMain {
    /** Only ports can be transferred; anything else in `message` is structured-cloned. */
    postMessage(message: unknown, transfer?: MessagePortMain[]): void
    start(): void
    close(): void
    on(event: 'message', listener: (event: MessageEvent) => void): this
    on(event: 'close', listener: () => void): this
  }
  export class MessageChannelMain {
    readonly port1: MessagePortMain
    readonly port2: MessagePortMain
  }
  export interface Session {
    setPermissionRequestHandler(handler: ((webContents: WebContents, permission: string, callback: (granted: boolean) => void) => void) | null): void
    setPermissionCheckHandler(handler: ((webContents: WebContents | null, permission: string) => boolean) | null): void
    setDevicePermissionHandler?(handler: ((details: unknown) => boolean) | null): void
  }
  export interface WebPreferences {
    preload?: string
    contextIsolation?: boolean
    sandbox?: boolean
    nodeIntegration?: boolean
    nodeIntegrationInWorker?: boolean
    nodeIntegrationInSubFrames?: boolean
    webSecurity?: boolean
    allowRunningInsecureContent?: boolean
    webviewTag?: boolean
    navigateOnDragDrop?: boolean
    spellcheck?: boolean
    backgroundThrottling?: boolean
  }
  export interface BrowserWindowConstructorOptions {
    x?: number
    y?: number
    width?: number
    height?: number
    minWidth?: number
    minHeight?: number
    show?: boolean
    title?: string
    icon?: string
    backgroundColor?: string
    webPreferences?: WebPreferences
  }
  export class BrowserWindow {
    constructor(options?: BrowserWindowConstructorOptions)
    static getAllWindows(): BrowserWindow[]
    readonly webContents: WebContents
    loadURL(url: string): Promise<void>
    loadFile(file: string): Promise<void>
    getNormalBounds(): Rectangle
    isMaximized(): boolean
    maximize(): void
    show(): void
    isDestroyed(): boolean
    destroy(): void
    on(event: 'close' | 'closed' | 'resize' | 'move' | 'ready-to-show' | 'unresponsive', listener: () => void): this
    once(event: 'ready-to-show', listener: () => void): this
  }
  export interface IpcMainInvokeEvent {
    readonly sender: WebContents
    readonly senderFrame: WebFrameMain | null
  }
  export const ipcMain: {
    handle(channel: string, listener: (event: IpcMainInvokeEvent, ...args: unknown[]) => Promise<unknown> | unknown): void
    removeHandler(channel: string): void
  }
  export interface OpenDialogReturnValue {
    canceled: boolean
    filePaths: string[]
  }
  export const dialog: {
    showOpenDialog(window: BrowserWindow, options: { title?: string; buttonLabel?: string; properties: Array<'openDirectory' | 'createDirectory' | 'openFile'> }): Promise<OpenDialogReturnValue>
    showErrorBox(title: string, content: string): void
  }
  export interface CustomScheme {
    scheme: string
    privileges?: { standard?: boolean; secure?: boolean; supportFetchAPI?: boolean; stream?: boolean; bypassCSP?: boolean; corsEnabled?: boolean }
  }
  export const protocol: {
    registerSchemesAsPrivileged(schemes: CustomScheme[]): void
    handle(scheme: string, handler: (request: Request) => Response | Promise<Response>): void
  }
  export const net: {
    fetch(input: string, init?: RequestInit & { bypassCustomProtocolHandlers?: boolean }): Promise<Response>
  }
  export const session: { defaultSession: Session }
  export const screen: { getAllDisplays(): Display[] }
  export const nativeTheme: { readonly shouldUseDarkColors: boolean }
  export const shell: { openExternal(url: string): Promise<void>; trashItem(path: string): Promise<void> }
  export const app: {
    whenReady(): Promise<void>
    getPath(name: 'userData' | 'home' | 'appData'): string
    setPath(name: 'userData', path: string): void
    setName(name: string): void
    requestSingleInstanceLock(): boolean
    quit(): void
    exit(exitCode?: number): void
    isPackaged: boolean
    on(event: 'window-all-closed' | 'activate' | 'second-instance' | 'before-quit', listener: (event: Event) => void): void
    on(event: 'web-contents-created', listener: (event: Event, contents: WebContents) => void): void
  }
  export interface IpcRendererEvent {
    readonly senderId?: number
    /** MessagePorts sent with webContents.postMessage. */
    readonly ports?: globalThis.MessagePort[]
  }
  export const ipcRenderer: {
    invoke(channel: string, ...args: unknown[]): Promise<unknown>
    on(channel: string, listener: (event: IpcRendererEvent, ...args: unknown[]) => void): void
    once(channel: string, listener: (event: IpcRendererEvent, ...args: unknown[]) => void): void
    removeListener(channel: string, listener: (event: IpcRendererEvent, ...args: unknown[]) => void): void
  }
  export const contextBridge: {
    exposeInMainWorld(key: string, api: unknown): void
  }
}
