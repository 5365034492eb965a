// What the size cell shows, derived from adapter sizes with no DOM: readable
// numbers, the breakdown bars and the size-vs-rank lines, ready to draw.
import { architectureLabel, LAYER_TYPE_LABELS, LAYER_TYPES, PRECISIONS, sizeByRank, type AdapterSize, type Architecture, type MethodConfig, type Precision } from './index.ts'

/** Bytes in decimal units, as file browsers and model sites show them: 1 MB = 10^6 bytes. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB']
  let value = bytes
  let unit = 0
  while (value >= 1000 && unit < units.length - 1) (value /= 1000), unit++
  return `${unit === 0 ? value : value.toPrecision(3)} ${units[unit]}`
}

/** Parameter counts as people say them: 196,608; 20.9 M; 2.57 B. */
export function formatCount(count: number): string {
  if (count < 1e6) return count.toLocaleString('en-US')
  return count < 1e9 ? `${(count / 1e6).toPrecision(3)} M` : `${(count / 1e9).toPrecision(3)} B`
}

export interface BreakdownBar {
  architecture: string
  type: string
  params: number
  /** The type's share of the file's tensor bytes, in MB. */
  megabytes: number
}

/** One bar per layer type that the method wraps, in display order. */
export function breakdown(size: AdapterSize, precision: Precision): BreakdownBar[] {
  return LAYER_TYPES.flatMap((type) => {
    const params = size.byType[type]
    return params ? [{ architecture: size.label, type: LAYER_TYPE_LABELS[type], params, megabytes: (params * PRECISIONS[precision].bytes) / 1e6 }] : []
  })
}

export interface RankPoint {
  architecture: string
  rank: number
  megabytes: number
}

/** File size at ranks 1 to 256 for each architecture; [] where the method has no rank. */
export function rankLines(architectures: readonly Architecture[], method: MethodConfig, precision: Precision): RankPoint[] {
  return architectures.flatMap((architecture) =>
    (sizeByRank(architecture, method, precision) ?? []).map((p) => ({ architecture: architectureLabel(architecture), rank: p.rank, megabytes: p.fileBytes / 1e6 })),
  )
}

/** The community's figure for an (IA)^3 SDXL file (RENTRY.md), shown beside ours. */
export const IA3_CLAIM = { text: '(IA)³ files are tiny: about 1 MB for SDXL', megabytes: 1 }
