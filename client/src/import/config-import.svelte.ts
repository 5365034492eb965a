// Importing an sd-scripts or kohya_ss config into a user notebook: the files
// are read in the browser, core's importer turns them into a train cell's YAML
// (what it could not import listed at the top), and the cell goes at the end.
import { importTrainConfig } from '../../../core/src/interop/sd-scripts-import.ts'
import type { NotebookSession } from '../state/notebook.svelte.ts'

/** Config files are a few kilobytes; anything this large is the wrong file. */
const MAX_FILE_BYTES = 1024 * 1024

export class ConfigImport {
  /** Why the last import failed, naming the file; undefined when it did not. */
  error = $state<string | undefined>()

  constructor(private readonly notebook: NotebookSession) {}

  /** Import one or two files as a new train cell; returns its id, or undefined with `error` set. */
  async importFiles(files: readonly File[]): Promise<string | undefined> {
    this.error = undefined
    try {
      const tooLarge = files.find((f) => f.size > MAX_FILE_BYTES)
      if (tooLarge) throw new Error(`${tooLarge.name}: ${Math.round(tooLarge.size / 1024)} KB is too large for a training config`)
      const read = await Promise.all(files.map(async (file) => ({ name: file.name, text: await file.text() })))
      const { yaml } = importTrainConfig(read)
      const entry = this.notebook.add(this.notebook.cells.length, 'train', yaml)
      return entry.opened.kind === 'prose' ? undefined : entry.opened.id
    } catch (e) {
      this.error = (e as Error).message
      return undefined
    }
  }
}
