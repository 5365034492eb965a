// The CodeMirror setup for a cell's YAML: line numbers, YAML highlighting, a
// lint gutter fed with config issues, and Shift/Ctrl/Cmd+Enter to run.
import { basicSetup, EditorView } from 'codemirror'
import { yaml } from '@codemirror/lang-yaml'
import { lintGutter, setDiagnostics, type Diagnostic } from '@codemirror/lint'
import { HighlightStyle, syntaxHighlighting } from '@codemirror/language'
import { EditorState, Prec, type Text } from '@codemirror/state'
import { keymap } from '@codemirror/view'
import { tags } from '@lezer/highlight'
import type { ConfigIssue } from '../../../core/src/config/validate.ts'

interface YamlEditorOptions {
  doc: string
  label: string
  onchange(text: string): void
  onrun(): void
}

export function createYamlEditor(parent: HTMLElement, options: YamlEditorOptions): EditorView {
  const run = () => (options.onrun(), true)
  return new EditorView({
    parent,
    state: EditorState.create({
      doc: options.doc,
      extensions: [
        Prec.highest(keymap.of([{ key: 'Shift-Enter', run }, { key: 'Mod-Enter', run }])),
        basicSetup,
        yaml(),
        lintGutter(),
        EditorView.contentAttributes.of({ 'aria-label': options.label }),
        EditorView.updateListener.of((update) => {
          if (update.docChanged) options.onchange(update.state.doc.toString())
        }),
        theme,
        syntaxHighlighting(highlight),
      ],
    }),
  })
}

/** Show config issues as diagnostics on the lines they name. */
export function showIssues(view: EditorView, issues: readonly ConfigIssue[], warnings: readonly ConfigIssue[]) {
  const diagnostics = [
    ...issues.map((issue) => toDiagnostic(view.state.doc, issue, 'error')),
    ...warnings.map((issue) => toDiagnostic(view.state.doc, issue, 'warning')),
  ]
  view.dispatch(setDiagnostics(view.state, diagnostics))
}

function toDiagnostic(doc: Text, issue: ConfigIssue, severity: Diagnostic['severity']): Diagnostic {
  // An issue without a line concerns the whole document: mark its first line.
  const line = doc.line(Math.min(Math.max(issue.line ?? 1, 1), doc.lines))
  const indent = /^\s*/.exec(line.text)![0].length
  return {
    from: line.from + Math.min(indent, line.length),
    to: line.to,
    severity,
    message: issue.path ? `${issue.path}: ${issue.message}` : issue.message,
  }
}

// Colours come from the app's CSS variables, so the editor follows the light/dark theme.
const theme = EditorView.theme({
  '&': { fontSize: '13.5px', backgroundColor: 'var(--code-bg)', color: 'var(--text)' },
  '&.cm-focused': { outline: 'none' },
  '.cm-content': { fontFamily: 'var(--mono)', padding: '10px 0', caretColor: 'var(--text)' },
  '.cm-gutters': { backgroundColor: 'var(--code-bg)', color: 'var(--muted)', border: 'none' },
  '.cm-activeLine': { backgroundColor: 'var(--active-line)' },
  '.cm-activeLineGutter': { backgroundColor: 'var(--active-line)' },
  '.cm-cursor': { borderLeftColor: 'var(--text)' },
  '&.cm-focused .cm-selectionBackground, .cm-selectionBackground': { backgroundColor: 'var(--selection) !important' },
})

// basicSetup's default highlighting is for light backgrounds only; these follow the theme.
const highlight = HighlightStyle.define([
  { tag: [tags.propertyName, tags.definition(tags.propertyName)], color: 'var(--syntax-key)' },
  { tag: [tags.number, tags.bool, tags.null, tags.atom], color: 'var(--syntax-number)' },
  { tag: [tags.string, tags.content], color: 'var(--syntax-string)' },
  { tag: tags.comment, color: 'var(--muted)', fontStyle: 'italic' },
  { tag: [tags.punctuation, tags.separator, tags.meta], color: 'var(--muted)' },
])
