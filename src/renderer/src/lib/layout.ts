// Where the sidebar and the similar panel go for a window width: beside the grid when there is
// room, over it when not, so nothing is squeezed out of reach in a small window.

export const SIDEBAR_WIDTH = 240
export const PANEL_WIDTH = 380
/** Narrowest grid worth keeping beside the panel (two columns of thumbnails). */
export const MIN_GRID_WIDTH = 320
/** Below this width the sidebar is a drawer over the grid, closed until asked for. */
export const DRAWER_BELOW = 1000

export interface Layout {
  sidebar: 'inline' | 'drawer'
  sidebarShown: boolean
  panel: 'inline' | 'overlay'
}

/** @param sidebarWanted the user's last choice (the toolbar's toggle), or null for the default */
export function layoutFor(width: number, sidebarWanted: boolean | null): Layout {
  const sidebar = width < DRAWER_BELOW ? 'drawer' : 'inline'
  const sidebarShown = sidebarWanted ?? sidebar === 'inline'
  const beside = sidebar === 'inline' && sidebarShown ? SIDEBAR_WIDTH : 0
  return { sidebar, sidebarShown, panel: width - beside - PANEL_WIDTH < MIN_GRID_WIDTH ? 'overlay' : 'inline' }
}
