// A marked extension for $…$ (inline) and $$…$$ (display) formulas, typeset
// by KaTeX into HTML at parse time; katex's CSS and fonts are bundled by vite.
// A formula with a TeX error shows the source in red, never breaks the page.
import katex from 'katex'
import type { MarkedExtension, Tokens } from 'marked'
import 'katex/dist/katex.min.css'

interface MathToken extends Tokens.Generic {
  type: 'math'
  text: string
  display: boolean
}

export const math: MarkedExtension = {
  extensions: [
    {
      name: 'math',
      level: 'inline',
      start: (src: string) => src.indexOf('$'),
      tokenizer(src: string): MathToken | undefined {
        // $$display$$, or $inline$ with no space just inside the dollars (so "$5 and $6" stays text).
        const match = /^\$\$([^$]+?)\$\$|^\$(?!\s)([^$\n]+?)(?<!\s)\$/.exec(src)
        if (match) return { type: 'math', raw: match[0], text: match[1] ?? match[2], display: match[1] !== undefined }
      },
      renderer: (token) => katex.renderToString(token.text, { displayMode: token.display, throwOnError: false }),
    },
  ],
}
