// The CodeMirror setup for a cell's YAML: line numbers, YAML highlighting, a
// lint gutter fed with config issues, completion and hover docs from the
// config schema, and the cell keys (cell-keys.ts).
import { basicSetup, EditorView } from 'codemirror'
import { autocompletion } from '@codemirror/autocomplete'
import { yaml } from '@codemirror/lang-yaml'
import { lintGutter, setDiagnostics, type Diagnostic } from '@codemirror/lint'
import { HighlightStyle, syntaxHighlighting } from '@codemirror/language'
import { EditorState, type Text } from '@codemirror/state'
import { tags } from '@lezer/highlight'
import type { ConfigIssue } from '../../../core/src/config/validate.ts'
import { cellKeys, escapeLeaves } from './cell-keys.ts'
import { completeConfig, configHover } from './config-docs.ts'

interface YamlEditorOptions {
  doc: string
  label: string
  onchange(text: string): void
  onrun(): void
}

export function createYamlEditor(parent: HTMLElement, options: YamlEditorOptions): EditorView {
  return new EditorView({
    parent,
    state: EditorState.create({
      doc: options.doc,
      extensions: [
        cellKeys(() => options.onrun()),
        basicSetup,
        escapeLeaves,
        yaml(),
        autocompletion({ override: [completeConfig] }),
        configHover,
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
export const theme = EditorView.theme({
  '&': { fontSize: '13.5px', backgroundColor: 'var(--code-bg)', color: 'var(--text)' },
  '&.cm-focused': { outline: 'none' },
  '.cm-content': { fontFamily: 'var(--mono)', padding: '10px 0', caretColor: 'var(--text)' },
  '.cm-gutters': { backgroundColor: 'var(--code-bg)', color: 'var(--muted)', border: 'none' },
  '.cm-activeLine': { backgroundColor: 'var(--active-line)' },
  '.cm-activeLineGutter': { backgroundColor: 'var(--active-line)' },
  '.cm-cursor': { borderLeftColor: 'var(--text)' },
  '&.cm-focused .cm-selectionBackground, .cm-selectionBackground': { backgroundColor: 'var(--selection) !important' },
  '.cm-tooltip': { backgroundColor: 'var(--surface)', color: 'var(--text)', border: '1px solid var(--border)', borderRadius: '6px' },
  '.cm-tooltip-autocomplete > ul > li[aria-selected]': { backgroundColor: 'var(--accent-soft)', color: 'var(--text)' },
  '.cm-completionDetail': { color: 'var(--muted)', fontStyle: 'normal', marginLeft: '0.8em' },
  '.cm-completionInfo': { maxWidth: '360px', padding: '8px 10px', fontFamily: 'var(--sans)', fontSize: '13px', lineHeight: '1.45' },
  '.config-doc': { maxWidth: '420px', padding: '8px 10px', fontFamily: 'var(--sans)', fontSize: '13px', lineHeight: '1.45' },
  '.config-doc-head': { fontFamily: 'var(--mono)', fontWeight: '600' },
  '.config-doc-type': { color: 'var(--muted)', fontSize: '12px', margin: '2px 0 4px' },
  '.config-doc p': { margin: '0' },
})

// basicSetup's default highlighting is for light backgrounds only; these follow the theme.
export const highlight = HighlightStyle.define([
  { tag: [tags.propertyName, tags.definition(tags.propertyName)], color: 'var(--syntax-key)' },
  { tag: [tags.number, tags.bool, tags.null, tags.atom], color: 'var(--syntax-number)' },
  { tag: [tags.string, tags.content], color: 'var(--syntax-string)' },
  { tag: tags.comment, color: 'var(--muted)', fontStyle: 'italic' },
  { tag: [tags.punctuation, tags.separator, tags.meta], color: 'var(--muted)' },
])
