// Types of setup.mjs, which stays plain JavaScript: it runs before node_modules (and tsx) exist.
export const root: string
export const python: string
export function setup(options?: { client?: boolean }): void
