import * as assert from 'node:assert/strict';
import { parseJsonc } from '../../src/config/jsonc';

describe('parseJsonc (settings files)', () => {
  it('reads comments and trailing commas as VS Code writes them', () => {
    const text = `{
      // a line comment
      "a": [1, 2, /* inline */ 3,],
      "b": { "url": "http://x//y", "s": "a /* not */ \\" b", }, // end
      /* block
         comment */
    }`;
    assert.deepEqual(parseJsonc(text), { a: [1, 2, 3], b: { url: 'http://x//y', s: 'a /* not */ " b' } });
  });

  it('gives undefined for an empty file and throws on broken JSON', () => {
    assert.equal(parseJsonc('  // nothing\n'), undefined);
    assert.throws(() => parseJsonc('{ "a": }'), SyntaxError);
  });
});
