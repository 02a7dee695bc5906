export { modelDescription, TOOL_DEFINITIONS, toolDefinition, type ToolDefinition, type ToolName } from './definitions';
export { checkLoopback, isLoopback, parseCreate, ToolError, type CreateInput } from './input';
export { forwardInWords, openInWords, type ForwardRequest } from './create';
export { TunnelTools } from './tunnelTools';
export { DEFAULT_NON_LOOPBACK_SWITCH, type ToolHost, type ToolResult } from './host';
export { connectHost, refusalLog, serverTarget, usage } from './format';
export { LIST_LIMIT } from './results';
export { hiddenNote, portRows, type PortRow } from './ports';
