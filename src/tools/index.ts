export { TOOL_DEFINITIONS, toolDefinition, type ToolDefinition, type ToolName } from './definitions';
export { ToolError, isLoopback } from './input';
export { TunnelTools, LIST_LIMIT, DEFAULT_SETTING_NAME, type ToolHost, type ToolResult } from './tunnelTools';
