// A JSON Schema and the TypeScript type it describes, built together: the tools' results are
// typed by the same object that MCP clients validate them against, so the two cannot drift.

export type JsonSchema = Record<string, unknown>;

/** A schema, carrying the type of the values it accepts (the field exists only for the compiler). */
export interface Schema<T> {
  readonly json: JsonSchema;
  readonly __type?: T;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

const described = (json: JsonSchema, description?: string): JsonSchema => (description === undefined ? json : { ...json, description });

export const string = (description?: string): Schema<string> => ({ json: described({ type: 'string' }, description) });

export const dateTime = (description?: string): Schema<string> => ({ json: described({ type: 'string', format: 'date-time' }, description) });

/** A whole number from minimum up (a count, a port). */
export const integer = (description?: string, minimum = 0, maximum?: number): Schema<number> => ({
  json: described({ type: 'integer', minimum, ...(maximum !== undefined && { maximum }) }, description),
});

export const literalTrue = (description?: string): Schema<true> => ({ json: described({ type: 'boolean', const: true }, description) });

export const choice = <T extends string>(values: readonly T[], description?: string): Schema<T> => ({ json: described({ type: 'string', enum: [...values] }, description) });

export const array = <T>(items: Schema<T>, description?: string): Schema<T[]> => ({ json: described({ type: 'array', items: items.json }, description) });

/** Exactly one of the schemas (each an object whose fields tell it apart). */
export const either = <A, B>(a: Schema<A>, b: Schema<B>, description?: string): Schema<A | B> => ({ json: described({ oneOf: [a.json, b.json] }, description) });

type Fields = Record<string, Schema<unknown>>;
type Optional<F extends Fields, O extends keyof F> = { [K in Exclude<keyof F, O>]: Infer<F[K]> } & { [K in O]?: Infer<F[K]> };
type Flatten<T> = { [K in keyof T]: T[K] };

/** An object with exactly these fields; all are required but those named in `optional`. */
export function object<F extends Fields, O extends keyof F & string = never>(fields: F, optional: readonly O[] = [], description?: string): Schema<Flatten<Optional<F, O>>> {
  const properties = Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v.json]));
  const required = Object.keys(fields).filter((k) => !(optional as readonly string[]).includes(k));
  return { json: described({ type: 'object', properties, required, additionalProperties: false }, description) };
}
