// What the half of the suite before a window reload leaves for the half after it: a file in
// the test workspace (its extension host, and all it held in memory, is gone by then).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';

export const RELOAD_MARKER_NAME = '.vscode/ssh-tunnels-reload.json';
export const RELOAD_SERVER = 'it-reload';

export interface ReloadMarker {
  /** The detached sshd that outlives the reload. */
  sshdPid: number;
  sshdDir: string;
  sshdPort: number;
  server: string;
  /** A person's tunnel opened from the palette: back after the reload, on this port. */
  personPort: number;
  /** A person's tunnel closed before the reload: not back. */
  closedPort: number;
  /** A person's tunnel whose port another program takes during the reload: reported, not reopened. */
  takenPort: number;
  /** That program (a detached node process). */
  squatterPid: number;
  /** A person's tunnel kept in the workspace settings (trusted runs): back as a settings tunnel. */
  settingsPort?: number;
  failuresBefore?: number;
}

function markerFile(): string | undefined {
  const folder = vscode.workspace.workspaceFolders?.[0];
  return folder ? path.join(folder.uri.fsPath, RELOAD_MARKER_NAME) : undefined;
}

export function readMarker(): ReloadMarker | undefined {
  const file = markerFile();
  if (!file || !fs.existsSync(file)) return undefined;
  return JSON.parse(fs.readFileSync(file, 'utf8')) as ReloadMarker;
}

export function writeMarker(marker: ReloadMarker): void {
  const file = markerFile();
  if (!file) throw new Error('no workspace folder for the reload marker');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(marker, null, 2));
}

export function removeMarker(): void {
  const file = markerFile();
  if (file) fs.rmSync(file, { force: true });
}

/**
 * Starts a detached process that binds `port` as soon as it is free (the tunnel holding it closes
 * when the window reloads) and keeps it for a minute. Returns its pid.
 */
export function takePortWhenFree(port: number): number {
  const script = `
    const net = require('node:net');
    const end = Date.now() + 60000;
    const tryBind = () => {
      const s = net.createServer();
      s.once('error', () => Date.now() < end ? setTimeout(tryBind, 10) : process.exit(1));
      s.listen({ host: '127.0.0.1', port: ${port}, exclusive: true }, () => setTimeout(() => process.exit(0), Math.max(0, end - Date.now())));
    };
    tryBind();`;
  const child = spawn(process.execPath, ['-e', script], { detached: true, stdio: 'ignore', env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' } });
  child.unref();
  return child.pid!;
}

export function stopSquatter(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
