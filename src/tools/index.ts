export { modelDescription, TOOL_DEFINITIONS, toolDefinition, type ToolDefinition, type ToolName } from './definitions';
export { ToolError, isLoopback } from './input';
export { TunnelTools } from './tunnelTools';
export { DEFAULT_NON_LOOPBACK_SWITCH, type ToolHost, type ToolResult } from './host';
export { refusalLog } from './format';
export { LIST_LIMIT } from './results';
export { hiddenNote, portRows, type PortRow } from './ports';
