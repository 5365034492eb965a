// The CodeMirror setup for a prose cell's Markdown: wrapped lines, Markdown
// highlighting, the app's theme, and the cell keys; Esc or blur ends editing.
import { basicSetup, EditorView } from 'codemirror'
import { autocompletion } from '@codemirror/autocomplete'
import { markdown } from '@codemirror/lang-markdown'
import { syntaxHighlighting } from '@codemirror/language'
import { EditorState } from '@codemirror/state'
import { cellKeys, escapeLeaves } from './cell-keys.ts'
import { highlight, theme } from './yaml-editor.ts'

interface MarkdownEditorOptions {
  doc: string
  onchange(text: string): void
  /** Editing is over: Esc, a click elsewhere, or Shift/Mod+Enter. */
  ondone(): void
}

export function createMarkdownEditor(parent: HTMLElement, options: MarkdownEditorOptions): EditorView {
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: options.doc,
      extensions: [
        cellKeys(() => options.ondone()),
        basicSetup,
        escapeLeaves,
        // Prose needs no suggestions, and a pending one would swallow the first Esc.
        autocompletion({ activateOnTyping: false }),
        markdown(),
        EditorView.lineWrapping,
        EditorView.contentAttributes.of({ 'aria-label': 'Text of this cell (Markdown)' }),
        EditorView.updateListener.of((update) => {
          if (update.docChanged) options.onchange(update.state.doc.toString())
          if (update.focusChanged && !update.view.hasFocus) options.ondone()
        }),
        theme,
        syntaxHighlighting(highlight),
      ],
    }),
  })
  view.focus()
  return view
}
