// core: shared by client and server; no DOM, no Node APIs.
export * from './config/schema.ts'
export * from './config/validate.ts'
export * from './protocol.ts'
export * from './notebook.ts'
export * from './config/advice.ts'
