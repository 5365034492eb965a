// The size cell's formulas against LyCORIS: test/fixtures/adapter-sizes.json
// holds what the trainer's own METHODS[name].create() built on SDXL, SD1.5 and
// shapes-xl (python -m trainer.golden_sizes); every number must be reproduced.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { resolveConfig } from '../../core/src/config/validate.ts'
import { adapterSize, sizeByRank, type Architecture, type MethodConfig } from '../../core/src/size/index.ts'
import { factorization, power2factorization } from '../../core/src/size/factorization.ts'
import { parseSizeCell } from '../../core/src/size/cell.ts'
import { formatBytes, formatCount, rankLines } from '../../core/src/size/report.ts'

interface Case {
  architecture: Architecture
  method: Record<string, unknown>
  params: number
  by_type: Record<string, number>
  tensors: number
  file_numel: number
  trainable_params?: number
  file_bytes_fp32?: number
}
const cases: Case[] = JSON.parse(readFileSync(new URL('../fixtures/adapter-sizes.json', import.meta.url), 'utf8')).cases

function method(section: Record<string, unknown>): MethodConfig {
  const result = resolveConfig({ method: section })
  if (!result.ok) throw new Error(JSON.stringify(result.issues))
  return result.config.method
}

function size(architecture: Architecture, section: Record<string, unknown>, precision: 'fp16' | 'fp32' = 'fp32') {
  const result = adapterSize(architecture, method(section), precision)
  if (!result.ok) throw new Error(result.issue.message)
  return result.size
}

describe('adapter sizes equal what LyCORIS builds', () => {
  it.each(cases.map((c) => [`${c.architecture} ${JSON.stringify(c.method)}`, c] as const))('%s', (_, golden) => {
    const ours = size(golden.architecture, golden.method)
    expect(ours.byType).toEqual(golden.by_type)
    expect(ours.params).toBe(golden.params)
    expect(ours.tensors).toBe(golden.tensors)
    expect(ours.fileNumel).toBe(golden.file_numel)
  })

  it('on shapes-xl, equal the trainable_params a run reports, and the file bytes within 1%', () => {
    const real = cases.filter((c) => c.architecture === 'shapes-xl')
    expect(real.length).toBeGreaterThan(20)
    for (const golden of real) {
      const ours = size('shapes-xl', golden.method)
      expect(ours.params).toBe(golden.trainable_params)
      expect(Math.abs(ours.fileBytes - golden.file_bytes_fp32!) / golden.file_bytes_fp32!).toBeLessThan(0.01)
    }
  })
})

describe('sizes teach what they should', () => {
  it("a trained word adds one vector per text encoder, as wide as that encoder: SDXL's 768 and 1280, SD1.5's 768", () => {
    for (const [architecture, width] of [['sdxl', 768 + 1280], ['sd15', 768]] as const) {
      const [plain, worded] = [size(architecture, { name: 'lora' }), size(architecture, { name: 'lora', embedding_words: ['sks', 'star'] })]
      expect(worded.params - plain.params).toBe(2 * width)
      expect(worded.byType.embedding).toBe(2 * width)
      expect(worded.tensors - plain.tensors).toBe(architecture === 'sdxl' ? 4 : 2)
    }
  })

  it('fp16 halves the tensor bytes of fp32', () => {
    const [half, full] = [size('sdxl', { name: 'lora', rank: 32 }, 'fp16'), size('sdxl', { name: 'lora', rank: 32 }, 'fp32')]
    expect(full.tensorBytes).toBe(2 * half.tensorBytes)
  })

  it('an SDXL LoRA grows linearly with rank: rank 128 is 16x rank 8', () => {
    const byRank = Object.fromEntries(sizeByRank('sdxl', method({ name: 'lora' }), 'fp16')!.map((p) => [p.rank, p.params]))
    expect(byRank[128]).toBe(16 * byRank[8])
    expect(sizeByRank('sdxl', method({ name: 'ia3' }), 'fp16')).toBeUndefined()
  })

  it('refuses an OFT block size the trainer refuses, naming the field and the width', () => {
    const result = adapterSize('shapes-xl', method({ name: 'oft', block_size: 8 }), 'fp16')
    expect(result.ok).toBe(false)
    expect(!result.ok && result.issue).toMatchObject({ path: 'method.block_size', message: expect.stringContaining('cannot split layer width 48 into equal blocks of 8 (LyCORIS would use blocks of 6)') })
    expect(adapterSize('sdxl', method({ name: 'dylora', rank: 6 }), 'fp16')).toMatchObject({ ok: false, issue: { path: 'method.block_size' } })
  })
})

describe("LyCORIS's factorizations", () => {
  it.each([
    [128, -1, [8, 16]], [128, 4, [4, 32]], [250, 8, [5, 50]], [360, 16, [15, 24]], [1024, -1, [32, 32]], [127, 8, [1, 127]], [1024, 16, [16, 64]],
  ])('factorization(%i, %i) = %j', (dimension, factor, expected) => expect(factorization(dimension, factor)).toEqual(expected))

  it('butterfly splits need an even block and a power-of-two count', () => {
    expect(power2factorization(320, 16)).toEqual([10, 32])
    expect(power2factorization(24, 16)).toEqual([12, 2])
    expect(power2factorization(7, 16)).toBeUndefined()
  })
})

describe('the size cell', () => {
  it('computes every architecture asked for, fp16 by default', () => {
    const result = parseSizeCell('method:\n  name: lora\n  rank: 16\narchitecture: [sdxl, sd15]\n')
    expect(result.ok && result.preview.precision).toBe('fp16')
    expect(result.ok && result.preview.results.map((r) => r.ok && r.size.label)).toEqual(['SDXL', 'SD1.5'])
  })

  it('names the field and line of each bad input', () => {
    const result = parseSizeCell('method:\n  name: lora\n  rank: 0\narchitecture: [sdxl, sd3]\nprecision: int8\ncolour: red\n')
    expect(result.ok).toBe(false)
    expect(result.issues.map((i) => [i.path, i.line])).toEqual([
      ['colour', 6],
      ['architecture.1', 4],
      ['precision', 5],
      ['method.rank', 3],
    ])
  })

  it('keeps the architectures that fit when one refuses the block size', () => {
    const result = parseSizeCell('method:\n  name: oft\n  block_size: 8\narchitecture: [sdxl, shapes-xl]\n')
    expect(result.ok && result.preview.results.map((r) => r.ok)).toEqual([true, false])
    expect(result.issues).toMatchObject([{ path: 'method.block_size', line: 3 }])
  })
})

describe('size report', () => {
  it('reads bytes in decimal units and counts as people say them', () => {
    expect([formatBytes(512), formatBytes(410_000), formatBytes(167_800_000)]).toEqual(['512 B', '410 KB', '168 MB'])
    expect([formatCount(196_608), formatCount(20_930_560), formatCount(2_567_463_684)]).toEqual(['196,608', '20.9 M', '2.57 B'])
  })

  it('lines up file size by rank for each architecture, none for a rankless method', () => {
    const lines = rankLines(['sdxl', 'sd15'], method({ name: 'lora' }), 'fp16')
    expect(lines.filter((p) => p.architecture === 'SDXL').map((p) => p.rank)).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256])
    expect(rankLines(['sdxl'], method({ name: 'oft' }), 'fp16')).toEqual([])
  })
})
