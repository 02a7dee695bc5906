// The two-window suite's line to its runner (test/runners/windows.mjs): an HTTP server on loopback
// whose address comes in SSH_TUNNELS_WINDOWS_DRIVER. The runner owns the pages and the processes,
// so it is the one that reads a window's tree and toasts and kills an extension host.
import { postToRunner } from '../helpers/runnerDriver';

/** What the runner set up for both windows. */
export interface Setup {
  /** The ssh config host of the sshd fixture (in HOME's ~/.ssh/config). */
  server: string;
  /** The same sshd under another host name, used only by the `up` beside the window. */
  upServer: string;
  /** The autoStart tunnel of the user settings, and its fixed local port. */
  tunnel: string;
  tunnelPort: number;
  /** An echo server on loopback: the target of the tunnels. */
  echoPort: number;
  /** The windows' folder names. */
  folders: { first: string; second: string };
  /** The first window's extension host, once it has said hello. */
  firstPid?: number;
  home: string;
  /** XDG_RUNTIME_DIR of the windows, and the folder of their sockets in it (SSH_TUNNELS_RUNTIME_DIR). */
  runtimeDir: string;
  peersDir: string;
  /** dist/cli.js: `ssh-tunnels`. */
  cli: string;
}

export type Which = 'first' | 'second';

const post = <T>(route: string, body: unknown): Promise<T> => postToRunner<T>('SSH_TUNNELS_WINDOWS_DRIVER', route, body);

/** Reads the window's tree from the page until a row matches (the page renders a moment after the API changes); the error lists the last rows. */
async function treeRow(window: Which, match: (row: string) => boolean, what: string, timeoutMs = 5000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await post<string[]>('/tree', { window });
    const row = rows.find(match);
    if (row) return row;
    if (Date.now() > deadline) throw new Error(`the page's tree shows no row ${what} within ${timeoutMs} ms; its rows: ${JSON.stringify(rows)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export const driver = {
  setup: () => post<Setup>('/setup', {}),
  /** The first window serves the tunnel: its extension host's pid (or why it could not). */
  hello: (body: { window: Which; pid?: number; error?: string }) => post<null>('/hello', body),
  /** The rows of the window's SSH Tunnels tree as the page shows them (servers expanded), one line each. */
  tree: (window: Which) => post<string[]>('/tree', { window }),
  treeRow,
  /** Every notification the window's page has shown so far. */
  toasts: (window: Which) => post<string[]>('/toasts', { window }),
  /** kill -9 of the window's extension host. */
  kill: (window: Which) => post<{ pid: number; killedAt: number }>('/kill', { window }),
};
