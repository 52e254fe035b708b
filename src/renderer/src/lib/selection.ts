// Multi-select as in a file manager: click picks one, Ctrl/Cmd toggles, Shift extends from the anchor.

export interface Selection {
  ids: Set<number>
  /** Index the next Shift-click extends from. */
  anchor: number | null
}

export function emptySelection(): Selection {
  return { ids: new Set(), anchor: null }
}

export interface ClickModifiers {
  shift: boolean
  toggle: boolean
}

/** The selection after clicking photo `index`; `idAt` maps an index to a loaded photo id. */
export function clickSelect(sel: Selection, index: number, mods: ClickModifiers, idAt: (i: number) => number | undefined): Selection {
  const id = idAt(index)
  if (id === undefined) return sel
  if (mods.shift && sel.anchor !== null) {
    const ids = mods.toggle ? new Set(sel.ids) : new Set<number>()
    const [from, to] = sel.anchor < index ? [sel.anchor, index] : [index, sel.anchor]
    for (let i = from; i <= to; i++) {
      const at = idAt(i)
      if (at !== undefined) ids.add(at)
    }
    return { ids, anchor: sel.anchor }
  }
  if (mods.toggle) {
    const ids = new Set(sel.ids)
    if (ids.has(id)) ids.delete(id)
    else ids.add(id)
    return { ids, anchor: index }
  }
  return { ids: new Set([id]), anchor: index }
}
