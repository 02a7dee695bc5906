// Which extension calls the API: the first frame of the call's stack that lies in another
// extension's folder, as VS Code itself ties an error to the extension it came from. What the
// person is asked names it; an extension cannot name itself as another.
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/** An installed extension, as far as finding a caller needs it. */
export interface ExtensionFolder {
  id: string;
  /** Its folder (extensionPath). */
  folder: string;
  /** Its display name, if it has one. */
  displayName?: string;
}

/** The stack of the current call, deep enough to get past this extension's own frames. */
export function currentStack(): string {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 50;
  try {
    return new Error().stack ?? '';
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** The file of a stack line (`at f (/a/b.js:1:2)`, `at /a/b.js:1:2`, `at file:///a/b.mjs:1:2`, `C:\a\b.js`). */
export function frameFile(line: string): string | undefined {
  const m = /^\s*at (?:.*?\()?((?:file:\/\/)?(?:\/|[A-Za-z]:[\\/])[^()]*?):\d+:\d+\)?\s*$/.exec(line);
  if (!m) return undefined;
  try {
    return m[1].startsWith('file://') ? fileURLToPath(m[1]) : m[1];
  } catch {
    return undefined;
  }
}

function comparable(p: string, windows: boolean): string {
  const n = path.normalize(p);
  return windows ? n.toLowerCase() : n;
}

/** The extension whose folder holds `file` (the deepest, when folders nest). */
function extensionOf(file: string, extensions: readonly ExtensionFolder[], windows: boolean): ExtensionFolder | undefined {
  const f = comparable(file, windows);
  let best: ExtensionFolder | undefined;
  for (const e of extensions) {
    const folder = comparable(e.folder, windows).replace(/[\\/]+$/, '');
    if ((f.startsWith(folder + '/') || f.startsWith(folder + '\\')) && (!best || e.folder.length > best.folder.length)) best = e;
  }
  return best;
}

/**
 * The calling extension: the first frame of `stack` in an extension's folder that is not `selfId`'s
 * (frames of VS Code itself and of Node lie in none). Undefined when no frame is.
 */
export function callerOf(stack: string, extensions: readonly ExtensionFolder[], selfId: string, windows = process.platform === 'win32'): ExtensionFolder | undefined {
  for (const line of stack.split('\n')) {
    const file = frameFile(line);
    if (!file) continue;
    const ext = extensionOf(file, extensions, windows);
    if (ext && ext.id.toLowerCase() !== selfId.toLowerCase()) return ext;
  }
  return undefined;
}
