// "SSH Tunnels: Copy MCP Server Configuration": the client configuration that runs the command
// bundled in this installed extension (dist/cli.js) as an MCP server, for agents outside VS Code.
import * as path from 'node:path';
import type * as vscodeTypes from 'vscode';

export interface McpServerEntry {
  command: string;
  args: string[];
  env?: Record<string, string>;
}

/**
 * The `mcpServers` entry (the shape Claude Desktop, Cursor and Claude Code read). Inside VS Code
 * desktop the running executable is Electron, which runs scripts as Node with ELECTRON_RUN_AS_NODE;
 * elsewhere (code-server, a remote host) it is Node itself.
 */
export function mcpServerConfig(extensionPath: string, execPath = process.execPath, electron = process.versions.electron !== undefined): { mcpServers: Record<string, McpServerEntry> } {
  const entry: McpServerEntry = { command: execPath || 'node', args: [path.join(extensionPath, 'dist', 'cli.js'), 'mcp'] };
  if (electron) entry.env = { ELECTRON_RUN_AS_NODE: '1' };
  return { mcpServers: { 'ssh-tunnels': entry } };
}

/** Copies the configuration to the clipboard, says so, and returns it (for scripts and tests). */
export async function copyMcpConfiguration(vscode: typeof vscodeTypes, extensionPath: string): Promise<string> {
  const text = JSON.stringify(mcpServerConfig(extensionPath), null, 2);
  await vscode.env.clipboard.writeText(text);
  void vscode.window.showInformationMessage(
    vscode.l10n.t(
      'Copied the MCP server configuration of SSH Tunnels. Paste it into your MCP client\'s configuration (e.g. claude_desktop_config.json, .cursor/mcp.json or .mcp.json). It runs the command of this installed version: copy it again after an update.',
    ),
  );
  return text;
}
