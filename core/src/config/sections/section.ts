import Type, { type TSchema } from 'typebox'

/** An entry of a registry: one row per method, optimizer or scheduler, read by schema, UI and lessons. */
export interface RegistryEntry {
  /** Human label shown in the UI. */
  label: string
  /** One line that teaches what it is. */
  summary: string
}

const names = <T extends object>(registry: T) => Object.keys(registry) as (keyof T & string)[]

/** A field that picks one entry of a registry; its description, the hover docs, teaches every choice. */
export const choice = <T extends Record<string, RegistryEntry>>(registry: T, fallback: keyof T & string, lead: string) =>
  Type.Optional(
    Type.Enum(names(registry), {
      default: fallback,
      description: lead + ' ' + Object.values(registry).map((e) => `${e.label}: ${e.summary}`).join(' '),
    }),
  )

/** A config section: a closed mapping whose every field is optional with a default. */
export const section = <P extends Record<string, any>>(description: string, properties: P) =>
  Type.Object(properties, { description, additionalProperties: false, default: {} })

/** An optional field whose default is null, meaning "off" or "inherit": the description says which. */
export const nullable = <T extends TSchema>(schema: T, description: string, extra: object = {}) =>
  Type.Optional(Type.Union([schema, Type.Null()], { default: null, description, ...extra }))
