// The map of rooms in ARCHITECTURE.md, read once and checked two ways: by ESLint as code is
// written (eslint.config.mjs, rule rooms/floors) and by a unit test over the whole tree
// (test/unit/rooms.test.ts). The table is the one owner of which room may import which.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * @typedef {object} Room
 * @property {string} name
 * @property {string} folder  relative to the project root; a room holds the files directly in it
 * @property {string} job
 * @property {string[]} imports  the rooms it may import from (its own always)
 * @property {boolean} vscode  whether it may import `vscode`
 * @property {string | undefined} door  the one file other layers import it through, if it has one
 */

/** Reads the rooms table of ARCHITECTURE.md (the table whose header starts with `| room |`). */
export function readRooms(file = path.join(root, 'ARCHITECTURE.md')) {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const start = lines.findIndex((l) => /^\|\s*room\s*\|/.test(l));
  if (start < 0) throw new Error(`${file} has no rooms table (a table whose first column is "room")`);
  const header = cells(lines[start]);
  const col = (name) => {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`the rooms table of ${file} has no "${name}" column`);
    return i;
  };
  const [nameCol, folderCol, jobCol, importsCol, vscodeCol, doorCol] = ['room', 'folder', 'job', 'may import', 'vscode', 'door'].map(col);
  /** @type {Room[]} */
  const rooms = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    const c = cells(line);
    const list = (text) => text.replace(/`/g, '').split(',').map((s) => s.trim()).filter((s) => s && s !== '—' && s !== '-');
    rooms.push({
      name: c[nameCol].replace(/`/g, ''),
      folder: c[folderCol].replace(/`/g, '').replace(/\/$/, ''),
      job: c[jobCol],
      imports: list(c[importsCol]),
      vscode: /^yes/i.test(c[vscodeCol]),
      door: list(c[doorCol])[0],
    });
  }
  return rooms;
}

function cells(line) {
  return line.split('|').slice(1, -1).map((s) => s.trim());
}

/** The room of a file (absolute or relative to the root): the room whose folder is the file's own. */
export function roomOf(rooms, file) {
  const dir = path.relative(root, path.dirname(path.resolve(root, file))).split(path.sep).join('/');
  return rooms.find((r) => r.folder === dir);
}

/**
 * Why `from` may not import the module `target` (both absolute paths; target without its
 * extension is resolved to .ts or /index.ts), or undefined when it may.
 */
export function forbidden(rooms, from, target) {
  const source = roomOf(rooms, from);
  if (!source) return undefined;
  const file = moduleFile(target);
  const dest = roomOf(rooms, file);
  if (!dest) return `${rel(file)} is in no room of ARCHITECTURE.md`;
  if (dest === source) return undefined;
  if (!source.imports.includes(dest.name)) return `${source.name} (${source.folder}) may not import ${dest.name} (${rel(file)}): ARCHITECTURE.md lets it import ${source.imports.join(', ') || 'nothing'}`;
  const door = dest.door && path.join(root, dest.folder, dest.door);
  const layer = (r) => r.folder.split('/').slice(0, 2).join('/');
  // Inside one layer (src/engine/…) rooms meet directly; from another layer, only through its door.
  if (door && file !== door && layer(source) !== layer(dest)) return `${source.name} must import ${dest.name} through ${rel(door)}, not ${rel(file)}`;
  return undefined;
}

function rel(file) {
  return path.relative(root, file).split(path.sep).join('/');
}

/** The relative imports of a TypeScript file (import, export … from, require), resolved to absolute paths. */
export function importsOf(file) {
  const text = fs.readFileSync(file, 'utf8');
  const out = [];
  const re = /(?:^|\n)\s*(?:import|export)\b[^'"]*?\bfrom\s*['"](\.{1,2}\/[^'"]+)['"]|(?:^|\n)\s*import\s*['"](\.{1,2}\/[^'"]+)['"]|\brequire\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;
  for (const m of text.matchAll(re)) out.push(path.resolve(path.dirname(file), m[1] ?? m[2] ?? m[3]));
  return out;
}

/** Every .ts file under `dir`. */
export function sourceFiles(dir = path.join(root, 'src')) {
  const out = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(p));
    else if (entry.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

/**
 * The import circles of `graph` (file → the files it imports), each as the files around it,
 * the first repeated at the end; empty when there is none.
 * @param {Map<string, string[]>} graph
 * @returns {string[][]}
 */
export function findCircles(graph) {
  const state = new Map();
  const circles = [];
  const visit = (f, trail) => {
    if (state.get(f) === 'done') return;
    if (state.get(f) === 'visiting') {
      circles.push([...trail.slice(trail.indexOf(f)), f]);
      return;
    }
    state.set(f, 'visiting');
    for (const next of graph.get(f) ?? []) visit(next, [...trail, f]);
    state.set(f, 'done');
  };
  for (const f of graph.keys()) visit(f, []);
  return circles;
}

/** Resolves an import's target to its file: `x` is `x.ts` or `x/index.ts`. */
export function moduleFile(target) {
  return path.extname(target) ? target : fs.existsSync(`${target}.ts`) ? `${target}.ts` : path.join(target, 'index.ts');
}
