// The API suite's line to the runner (test/runners/offline.mjs, API phase): the same HTTP server
// on loopback as the agent suite's (SSH_TUNNELS_AGENT_DRIVER), which owns the browser and so sees
// and clicks the workbench's dialogs and types into its quick input.
import { postToRunner } from '../helpers/runnerDriver';

const post = <T>(route: string, body: unknown): Promise<T> => postToRunner<T>('SSH_TUNNELS_AGENT_DRIVER', route, body);

export const driver = {
  /** Waits for the modal dialog, returns its text, and clicks the button of that name (saving a picture of it first, if named). */
  answerDialog: (button: string, screenshot?: string) => post<{ text: string }>('/dialog', { button, screenshot }),
  /** The text of the terminals on screen. */
  terminalText: () => post<{ text: string }>('/terminal', {}).then((t) => t.text),
  /** Saves a picture of the workbench as test-results/NAME-<trust>.png. */
  screenshot: (name: string) => post<null>('/screenshot', { name }),
  /** Whether a modal dialog shows right now. */
  dialogShowing: () => post<{ showing: boolean }>('/state', {}).then((s) => s.showing),
  /** The messages of the notifications showing. */
  notifications: () => post<{ messages: string[] }>('/notifications', {}).then((n) => n.messages),
  /** Waits for the quick input, types `text` into it and presses Enter. */
  typeInput: (text: string) => post<null>('/input', { text }),
  log: (line: string) => post<null>('/log', { line }),
  exit: (code: number) => post<null>('/exit', { code }),
};
