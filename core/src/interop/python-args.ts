// sd-scripts passes optimizer_args, network_args and lr_scheduler_args as
// "key=value" strings whose values it reads with Python's ast.literal_eval
// (network_args stay strings; LyCORIS parses them itself). These two functions
// are that format in both directions.

export type PyValue = string | number | boolean | null | PyValue[]

/** A value as a "key=value" string carries it: lists as comma-separated items, which literal_eval reads as a tuple. */
export function formatPyValue(value: unknown): string {
  if (Array.isArray(value)) return value.map(formatPyValue).join(',')
  if (value === true) return 'True'
  if (value === false) return 'False'
  if (value === null) return 'None'
  return String(value)
}

/** What literal_eval makes of a value: True/False/None, numbers, tuples and lists; anything else stays a string. */
export function parsePyValue(text: string): PyValue {
  const t = text.trim()
  if (t === 'True' || t === 'true') return true
  if (t === 'False' || t === 'false') return false
  if (t === 'None') return null
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return Number(t)
  const bracketed = /^[([](.*)[)\]]$/.exec(t)
  if (bracketed || t.includes(',')) {
    const inner = bracketed ? bracketed[1] : t
    return inner.split(',').filter((s) => s.trim() !== '').map(parsePyValue)
  }
  const quoted = /^(['"])(.*)\1$/.exec(t)
  return quoted ? quoted[2] : t
}

/** "key=value" items, from a TOML array or from one space-separated string (kohya_ss' optimizer_args field). */
export function splitKeyValues(items: readonly string[] | string): { key: string; value: string }[] {
  const list = typeof items === 'string' ? items.split(/\s+/).filter(Boolean) : items
  return list.map((item) => {
    const at = item.indexOf('=')
    return at < 0 ? { key: item.trim(), value: '' } : { key: item.slice(0, at).trim(), value: item.slice(at + 1).trim() }
  })
}
