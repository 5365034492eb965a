// The keys every cell editor shares, listed for the reader in layout/Shortcuts.svelte:
// Shift+Enter runs and moves on to the next cell, Ctrl/Cmd+Enter runs in place,
// Esc leaves the editor.
import { Prec } from '@codemirror/state'
import { EditorView, keymap } from '@codemirror/view'

/** Keys for an editor whose cell runs; `run` may be absent (prose has nothing to run, so Shift+Enter only moves on). */
export function cellKeys(run?: () => void) {
  return Prec.highest(
    keymap.of([
      { key: 'Shift-Enter', run: (view) => (run?.(), focusNextCell(view), true) },
      { key: 'Mod-Enter', run: () => (run?.(), true) },
    ]),
  )
}

/** Esc leaves the editor; it runs after the completion popup's own Esc, which closes the popup first. */
export const escapeLeaves = keymap.of([{ key: 'Escape', run: (view) => (view.contentDOM.blur(), true) }])

/** Put the cursor in the next cell's editor, or on the next cell itself when it has none showing. */
function focusNextCell(view: EditorView) {
  const slots = [...document.querySelectorAll<HTMLElement>('[data-cell-slot]')]
  const next = slots[slots.findIndex((slot) => slot.contains(view.dom)) + 1]
  if (!next) return view.contentDOM.blur()
  const editor = next.querySelector<HTMLElement>('.cm-content')
  ;(editor ?? next).focus()
  next.scrollIntoView({ block: 'nearest', behavior: 'smooth' })
}
