// A marked extension for the $…$ and $$…$$ math in lessons. Without a TeX
// typesetter among our dependencies, it shows the formula as readable text
// (Greek letters, fractions as a/b) in a math style rather than as raw TeX.
import type { MarkedExtension, Tokens } from 'marked'

const GREEK: Record<string, string> = {
  alpha: 'α', beta: 'β', gamma: 'γ', delta: 'δ', epsilon: 'ε', eta: 'η', theta: 'θ', lambda: 'λ',
  mu: 'μ', pi: 'π', rho: 'ρ', sigma: 'σ', tau: 'τ', phi: 'φ', omega: 'ω', Delta: 'Δ', Sigma: 'Σ',
}
const SYMBOLS: Record<string, string> = { cdot: '·', times: '×', approx: '≈', le: '≤', ge: '≥', to: '→', sqrt: '√' }

/** TeX source to readable text. */
function texToText(tex: string): string {
  return tex
    .replace(/\\frac\{([^{}]*)\}\{([^{}]*)\}/g, (_, a: string, b: string) => `${a}/${b}`)
    .replace(/\\[,;:]/g, '\u2009')
    .replace(/\\([A-Za-z]+)/g, (whole, name: string) => GREEK[name] ?? SYMBOLS[name] ?? whole)
    .replace(/[{}]/g, '')
}

const escapeHtml = (text: string) => text.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`)

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
      renderer: (token) => `<span class="math${token.display ? ' math-display' : ''}">${escapeHtml(texToText(token.text))}</span>`,
    },
  ],
}
