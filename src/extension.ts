// Composition root. The UI layer (src/ui) is wired here as it lands.
import type * as vscode from 'vscode';
import { TunnelManager } from './engine';

let manager: TunnelManager | undefined;

export function activate(_context: vscode.ExtensionContext): void {
  manager = new TunnelManager({ servers: { list: () => [], get: () => undefined } });
}

export async function deactivate(): Promise<void> {
  await manager?.dispose();
  manager = undefined;
}
