// A compare cell's table of configs: one row per config field (dotted path),
// one column per run, rows whose values differ marked so the eye finds them.

export interface ConfigRow {
  /** Dotted path, e.g. "method.rank". */
  path: string
  /** The value in each config, as text; "—" where a config lacks the field. */
  values: string[]
  differs: boolean
}

export const MISSING = '—'

/** Flatten resolved configs into rows, in the order fields first appear. */
export function configRows(configs: readonly unknown[]): ConfigRow[] {
  const flat = configs.map((config) => flatten(config, ''))
  const paths = [...new Set(flat.flatMap((f) => [...f.keys()]))]
  return paths.map((path) => {
    const values = flat.map((f) => f.get(path) ?? MISSING)
    return { path, values, differs: values.some((v) => v !== values[0]) }
  })
}

function flatten(value: unknown, prefix: string, out = new Map<string, string>()): Map<string, string> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [key, child] of Object.entries(value)) flatten(child, prefix ? `${prefix}.${key}` : key, out)
  } else if (prefix) {
    // Lists (sample prompts) are one value: two runs differ if any item does.
    out.set(prefix, typeof value === 'string' ? value : JSON.stringify(value))
  }
  return out
}
