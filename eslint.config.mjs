import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const NO_VSCODE = { name: 'vscode', message: 'Only src/ui and src/extension.ts touch the vscode API; the other layers run in plain Node.' };

/**
 * The import rule of one floor of src/ above the engine: the folders above it (and the composition
 * root) are out of its reach, and so is `vscode` unless it is the UI.
 */
function floor(folder, { vscode, above }) {
  const group = [...above, 'extension'].flatMap((f) => [`**/${f}`, `**/${f}/**`]);
  return {
    files: [`src/${folder}/**/*.ts`],
    rules: {
      'no-restricted-imports': ['error', {
        paths: vscode ? [] : [NO_VSCODE],
        patterns: [{ group, message: `src/${folder} may not import ${above.map((f) => `src/${f}`).join(', ')} or src/extension.ts: a floor only looks down (ui and cli -> tools -> catalogue -> peers -> engine).` }],
      }],
    },
  };
}

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
    files: ['src/engine/**/*.ts', 'src/config/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [NO_VSCODE] }],
    },
  },
  // The floors above the engine only look down: ui and cli -> tools -> catalogue -> peers -> engine.
  floor('peers', { vscode: false, above: ['catalogue', 'tools', 'ui', 'cli'] }),
  floor('catalogue', { vscode: false, above: ['tools', 'ui', 'cli'] }),
  floor('tools', { vscode: false, above: ['ui', 'cli'] }),
  floor('cli', { vscode: false, above: ['ui'] }),
  floor('ui', { vscode: true, above: ['cli'] }),
  {
    // One front door opens a wanted tunnel, with one wait and one rule of who serves it.
    files: ['src/peers/**/*.ts', 'src/catalogue/**/*.ts', 'src/tools/**/*.ts', 'src/cli/**/*.ts', 'src/ui/**/*.ts', 'src/extension.ts'],
    ignores: ['src/catalogue/frontDoor.ts'],
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
