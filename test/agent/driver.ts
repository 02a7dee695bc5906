// The agent suite's line to the runner (test/runners/offline.mjs, agent phase): an HTTP server on
// loopback whose address comes in SSH_TUNNELS_AGENT_DRIVER. The runner owns the browser, so it is
// the one that sees and clicks the workbench's dialogs.
import { postToRunner } from '../helpers/runnerDriver';

const post = <T>(route: string, body: unknown): Promise<T> => postToRunner<T>('SSH_TUNNELS_AGENT_DRIVER', route, body);

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
