// The integration suite's hands and eyes on its own window: the runner (test/runners/offline.mjs)
// owns the page and acts on it when asked over HTTP on loopback (SSH_TUNNELS_WORKBENCH_DRIVER;
// the routes are test/runners/workbenchDriver.mjs's): clicks, keys and typing as a person's, and
// what the page shows (rows with their screen-reader labels, tooltips, notifications, status bar).
import { postToRunner } from './runnerDriver';

const ADDRESS = 'SSH_TUNNELS_WORKBENCH_DRIVER';
const post = <T>(route: string, body: unknown = {}): Promise<T> => postToRunner<T>(ADDRESS, route, body);

/** Whether the runner can act on the page (code-server + Chromium); desktop VS Code's runner cannot. */
export function canDrive(): boolean {
  return !!process.env[ADDRESS];
}

export interface Row {
  /** What the row shows: label and description. */
  text: string;
  /** What a screen reader says. */
  label: string;
  level: number;
  expanded: string | null;
  focused: boolean;
  /** Its icon, as a codicon class (`codicon-arrow-right`). */
  icon: string;
  iconColor: string;
  /** Its inline buttons, by label. */
  actions: string[];
}

export interface QuickInput {
  visible: boolean;
  title?: string;
  value?: string;
  /** The validation message, or the prompt when there is none. */
  message?: string;
  messageSeverity?: string;
  items?: string[];
  active?: string;
  back?: boolean;
}

export const page = {
  showView: () => post<null>('/showView'),
  rows: () => post<Row[]>('/rows'),
  /** Clicks the row whose text or screen-reader label contains `match`; `action` clicks one of its inline buttons instead, `button: 'right'` opens its menu. */
  clickRow: (match: string, options: { action?: string; button?: 'left' | 'right' } = {}) => post<null>('/clickRow', { match, ...options }),
  /** A button of the view's title bar by its label, or (`menu`) an entry of its "…" menu. */
  clickTitle: (target: { action: string } | { menu: string }) => post<null>('/clickTitle', target),
  /** The open context menu's entries; with `item`, clicks it. */
  menu: (item?: string) => post<string[]>('/menu', { item }),
  keys: (...keys: string[]) => post<null>('/keys', { keys }),
  type: (text: string) => post<null>('/type', { text }),
  quickInput: () => post<QuickInput>('/quickInput'),
  back: () => post<null>('/back'),
  /** Hovers a row: the tooltip when it shows, and after `holdMs` more of hovering (null if it went). */
  hover: (match: string, holdMs = 0) => post<{ first: string | null; still: string | null }>('/hover', { match, holdMs }),
  mouseAway: () => post<null>('/mouseAway'),
  /** Every notification shown since the last clearToasts, as text (message, source, buttons). */
  toasts: () => post<string[]>('/toasts'),
  toastButton: (match: string, button: string) => post<null>('/toastButton', { match, button }),
  clearToasts: () => post<null>('/clearToasts'),
  statusBar: () => post<{ id: string; text: string; label: string }[]>('/statusBar'),
  /** Clicks an entry of the Settings editor's table of contents (the editor must be open); the setting titles then shown, and the entries of the table. */
  settingsToc: (entry: string) => post<{ titles: string[]; toc: string[] }>('/settingsToc', { entry }),
  screenshot: (path: string) => post<null>('/screenshot', { path }),
};

/** Polls `probe` (which may ask the page) until it gives a value; the error shows the last `detail`. */
export async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 15_000, detail?: () => Promise<unknown>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail ? `: ${JSON.stringify(await detail())}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The row whose text or label contains `match`, once the view shows it. */
export function rowOf(match: string, timeoutMs = 15_000): Promise<Row> {
  return until(`a row showing ${JSON.stringify(match)}`, async () => (await page.rows()).find((r) => r.text.includes(match) || r.label.includes(match)), timeoutMs, async () => (await page.rows()).map((r) => r.text));
}
