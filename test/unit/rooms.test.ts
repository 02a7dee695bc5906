import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

type RoomsModule = typeof import('../../scripts/rooms.mjs');

/**
 * The map of rooms in ARCHITECTURE.md against the code: every file of src is in a room, every
 * import is one its room may make, no import circle anywhere, and every room of the map exists.
 */
describe('ARCHITECTURE.md: the rooms and their floors hold in src', () => {
  let m: RoomsModule;
  let rooms: ReturnType<RoomsModule['readRooms']>;
  let files: string[];

  before(async () => {
    // An ES module shared with eslint.config.mjs (the one reader of the table).
    m = (await import('../../scripts/rooms.mjs')) as RoomsModule;
    rooms = m.readRooms();
    files = m.sourceFiles();
  });

  it('every room names a folder that exists, rooms it may import that exist, and holds at least one file', () => {
    const names = new Set(rooms.map((r) => r.name));
    for (const r of rooms) {
      assert.ok(fs.existsSync(path.join(m.root, r.folder)), `room ${r.name}: no folder ${r.folder}`);
      for (const i of r.imports) assert.ok(names.has(i), `room ${r.name} may import "${i}", which is no room`);
      assert.ok(files.some((f) => m.roomOf(rooms, f) === r), `room ${r.name} holds no file`);
      if (r.door) assert.ok(fs.existsSync(path.join(m.root, r.folder, r.door)), `room ${r.name}: its door ${r.door} is not there`);
    }
  });

  it('every file of src is in a room', () => {
    const homeless = files.filter((f) => !m.roomOf(rooms, f)).map((f) => path.relative(m.root, f));
    assert.deepEqual(homeless, [], `files in no room of ARCHITECTURE.md: ${homeless.join(', ')}`);
  });

  it('no import crosses a floor the map does not allow, and vscode stays in the rooms that may use it', () => {
    const problems: string[] = [];
    for (const file of files) {
      const room = m.roomOf(rooms, file)!;
      for (const target of m.importsOf(file)) {
        const why = m.forbidden(rooms, file, target);
        if (why) problems.push(`${path.relative(m.root, file)}: ${why}`);
      }
      if (!room.vscode && /from\s*['"]vscode['"]|require\(\s*['"]vscode['"]\s*\)/.test(fs.readFileSync(file, 'utf8'))) {
        problems.push(`${path.relative(m.root, file)}: ${room.name} may not import vscode`);
      }
    }
    assert.deepEqual(problems, []);
  });

  it('no import circle anywhere in src', () => {
    const graph = new Map(files.map((f) => [f, m.importsOf(f).map(m.moduleFile)]));
    const circles = m.findCircles(graph).map((c) => c.map((x) => path.relative(m.root, x)).join(' → '));
    assert.deepEqual(circles, []);
  });

  it('the checks see a forbidden import and a circle when there is one (the checker itself works)', () => {
    const config = path.join(m.root, 'src/config/servers.ts');
    assert.match(m.forbidden(rooms, config, path.join(m.root, 'src/ui/tree')) ?? '', /config .* may not import ui/);
    assert.match(m.forbidden(rooms, config, path.join(m.root, 'src/engine/ssh2')) ?? '', /may not import ssh2/);
    assert.match(m.forbidden(rooms, path.join(m.root, 'src/cli/up.ts'), path.join(m.root, 'src/engine/manager')) ?? '', /through src\/engine\/index\.ts/);
    assert.equal(m.forbidden(rooms, path.join(m.root, 'src/engine/forwards/tunnel.ts'), path.join(m.root, 'src/engine/connection/link')), undefined);
    assert.match(m.forbidden(rooms, path.join(m.root, 'src/engine/login/authHandler.ts'), path.join(m.root, 'src/engine/connection/session')) ?? '', /login .* may not import connection/);
    const circle = new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]]);
    assert.deepEqual(m.findCircles(circle), [['a', 'b', 'c', 'a']]);
    assert.deepEqual(m.findCircles(new Map([['a', ['b']], ['b', []]])), []);
  });
});
