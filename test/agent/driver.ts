// The agent suite's line to the runner (test/runners/offline.mjs, agent phase): an HTTP server on
// loopback whose address comes in SSH_TUNNELS_AGENT_DRIVER. The runner owns the browser, so it is
// the one that sees and clicks the workbench's dialogs.
import * as http from 'node:http';

function post<T>(route: string, body: unknown): Promise<T> {
  const url = new URL(route, process.env.SSH_TUNNELS_AGENT_DRIVER);
  const data = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(text || 'null') as T) : reject(new Error(`runner: ${route}: ${text}`))));
    });
    req.on('error', reject);
    req.end(data);
  });
}

export const driver = {
  /** Waits for the modal dialog, returns its text, and clicks the button (`Yes`, `Cancel`). */
  answerDialog: (button: string) => post<{ text: string }>('/dialog', { button }),
  /** Waits for the modal dialog and returns its text, leaving it open. */
  readDialog: () => post<{ text: string }>('/dialog', {}),
  /** Whether a modal dialog shows right now. */
  dialogShowing: () => post<{ showing: boolean }>('/state', {}).then((s) => s.showing),
  log: (line: string) => post<null>('/log', { line }),
  exit: (code: number) => post<null>('/exit', { code }),
};
