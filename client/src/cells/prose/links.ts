// Links between notebooks are written as plain relative paths ("10-lora.md"),
// so they also work where the Markdown is read as a file (GitHub, an editor).
// In the workbench they become the hash route that opens that notebook.
import type { MarkedExtension } from 'marked'

export function notebookLinks(notebookPath: string): MarkedExtension {
  const folder = notebookPath.slice(0, notebookPath.lastIndexOf('/') + 1)
  return {
    walkTokens(token) {
      if (token.type === 'link' && /^[\w.-]+\.md$/.test(token.href)) token.href = `#${folder}${token.href}`
    },
  }
}
