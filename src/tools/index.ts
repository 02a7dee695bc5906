export { modelDescription, TOOL_DEFINITIONS, toolDefinition, type ToolDefinition, type ToolName } from './definitions';
export { ToolError, isLoopback } from './input';
export { TunnelTools, DEFAULT_NON_LOOPBACK_SWITCH, type ToolHost, type ToolResult } from './tunnelTools';
export { refusalLog } from './format';
export { LIST_LIMIT } from './results';
