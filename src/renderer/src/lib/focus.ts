// Focus for dialogs and overlays: Tab stays inside while one is open, and focus goes back to where
// it was when it closes.

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])'

/** The elements Tab visits inside `node`, in order. */
export function focusables(node: HTMLElement): HTMLElement[] {
  return [...node.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((el) => el.offsetParent !== null || el === document.activeElement)
}

export interface TrapOptions {
  /** Trap only while true (a side panel traps when it overlays the grid). */
  active?: boolean
  /** Focus this element first (else the first [data-autofocus], else the first focusable). */
  initial?: string
}

/**
 * Svelte action: keeps Tab and Shift+Tab inside `node`, moves focus in when it mounts (or turns
 * active) and gives it back to the element that had it when it unmounts.
 */
export function trapFocus(node: HTMLElement, options: TrapOptions = {}) {
  let active = options.active ?? true
  const previous = document.activeElement instanceof HTMLElement ? document.activeElement : null

  function enter() {
    if (node.contains(document.activeElement)) return
    const first = (options.initial && node.querySelector<HTMLElement>(options.initial)) || node.querySelector<HTMLElement>('[data-autofocus]') || focusables(node)[0] || node
    first.focus({ preventScroll: true })
  }

  function onKeydown(e: KeyboardEvent) {
    if (!active || e.key !== 'Tab') return
    const items = focusables(node)
    if (items.length === 0) {
      e.preventDefault()
      return
    }
    const first = items[0]
    const last = items[items.length - 1]
    const at = document.activeElement
    if (e.shiftKey && (at === first || !node.contains(at))) {
      e.preventDefault()
      last.focus()
    } else if (!e.shiftKey && (at === last || !node.contains(at))) {
      e.preventDefault()
      first.focus()
    }
  }

  node.addEventListener('keydown', onKeydown)
  if (active) queueMicrotask(enter)
  return {
    update(next: TrapOptions = {}) {
      const was = active
      active = next.active ?? true
      if (active && !was) queueMicrotask(enter)
    },
    destroy() {
      node.removeEventListener('keydown', onKeydown)
      if (previous?.isConnected && (node.contains(document.activeElement) || document.activeElement === document.body)) previous.focus({ preventScroll: true })
    },
  }
}
