import js from '@eslint/js';
import * as path from 'node:path';
import tseslint from 'typescript-eslint';
import { forbidden, readRooms, roomOf } from './scripts/rooms.mjs';

// The rooms of ARCHITECTURE.md: which room may import which, and which may import vscode.
const rooms = readRooms();

/** rooms/floors: an import a room may not make, as ARCHITECTURE.md's table says. */
const roomsPlugin = {
  rules: {
    floors: {
      meta: { type: 'problem', schema: [] },
      create(context) {
        const file = context.filename;
        const room = roomOf(rooms, file);
        if (!room) return {};
        const check = (node) => {
          const source = node.source?.value;
          if (typeof source !== 'string') return;
          if (source === 'vscode' && !room.vscode) {
            context.report({ node, message: `${room.name} (${room.folder}) runs in plain Node: it may not import vscode (ARCHITECTURE.md).` });
            return;
          }
          if (!source.startsWith('.')) return;
          const why = forbidden(rooms, file, path.resolve(path.dirname(file), source));
          if (why) context.report({ node, message: why });
        };
        return { ImportDeclaration: check, ExportNamedDeclaration: check, ExportAllDeclaration: check };
      },
    },
  },
};

export default tseslint.config(
  { ignores: ['dist/**', 'out/**', 'node_modules/**', '.vscode-test/**', '.cache/**', 'test-results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'smart'],
    },
  },
  {
    files: ['src/**/*.ts'],
    plugins: { rooms: roomsPlugin },
    rules: { 'rooms/floors': 'error' },
  },
  {
    // One front door opens a wanted tunnel, with one wait and one rule of who serves it.
    files: ['src/**/*.ts'],
    ignores: ['src/engine/**', 'src/catalogue/frontDoor.ts'],
    rules: {
      'no-restricted-syntax': ['error', {
        selector: "CallExpression[callee.property.name='createTunnel']",
        message: 'Open a tunnel through the front door: FrontDoor (src/catalogue/frontDoor.ts), or in VS Code the catalogue\'s open(spec, origin).',
      }],
    },
  },
  {
    files: ['**/*.mjs', '**/*.cjs', '**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', require: 'readonly', module: 'writable', __dirname: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', Buffer: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
