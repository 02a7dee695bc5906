// Checks a tool's structured result against its declared outputSchema with the validator the MCP
// SDK itself uses (Ajv 8 with formats), made strict: a schema keyword Ajv does not know, a
// missing format or a malformed schema is an error here, not a silent pass.
import * as assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { toolDefinition } from '../../src/tools';

// The SDK's own Ajv (the project's top-level `ajv` is an older one that ESLint brings).
const sdkRequire = createRequire(require.resolve('@modelcontextprotocol/sdk/validation/ajv'));
const Ajv = sdkRequire('ajv').default as new (options: Record<string, unknown>) => AjvInstance;
const addFormats = sdkRequire('ajv-formats').default as (ajv: AjvInstance) => void;

interface AjvInstance {
  compile(schema: object): ((data: unknown) => boolean) & { errors?: unknown[] | null };
  errorsText(errors?: unknown[] | null): string;
}

const ajv = new Ajv({ strict: true, allErrors: true, validateSchema: true });
addFormats(ajv);
const compiled = new Map<string, ReturnType<AjvInstance['compile']>>();

/** The errors of `data` against any JSON Schema, with the same strict Ajv; '' when it fits. */
export function schemaErrors(schema: object, data: unknown): string {
  const validate = ajv.compile(schema);
  return validate(data) ? '' : ajv.errorsText(validate.errors);
}

/** The errors of `data` (as it crosses the wire: JSON) against the tool's outputSchema; '' when it fits. */
export function outputSchemaErrors(tool: string, data: unknown): string {
  let validate = compiled.get(tool);
  if (!validate) {
    const definition = toolDefinition(tool);
    assert.ok(definition, `no tool ${tool}`);
    validate = ajv.compile(definition.outputSchema);
    compiled.set(tool, validate);
  }
  const wire = JSON.parse(JSON.stringify(data)) as unknown;
  return validate(wire) ? '' : ajv.errorsText(validate.errors);
}

export function assertMatchesOutputSchema(tool: string, data: unknown): void {
  const errors = outputSchemaErrors(tool, data);
  assert.equal(errors, '', `${tool}'s result does not fit its outputSchema: ${errors}\n${JSON.stringify(data)}`);
}
