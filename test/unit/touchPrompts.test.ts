import * as assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { McpPrompts } from '../../src/cli/mcpPrompts';
import { TerminalPrompts } from '../../src/cli/terminalPrompts';

/** A terminal of pipes: what is typed goes in, everything written is kept, and the hooks are recorded. */
function terminal() {
  const input = new PassThrough();
  const written: string[] = [];
  const hooks: string[] = [];
  const prompts = new TerminalPrompts(
    { input, output: { write: (text: string) => written.push(text) } },
    { pause: (what) => hooks.push(`pause ${what}`), resume: () => hooks.push('resume') },
  );
  return { input, prompts, text: () => written.join(''), hooks };
}

const KEY = 'ED25519-SK SHA256:AAAAC3NzaC1lZDI1NTE5AAAAIDFK0M0eZ3bL8x2s0VbE';
const tick = () => new Promise((r) => setTimeout(r, 20));

describe('the touch of a security key in the terminal', () => {
  it("prints ssh's line while the key signs, holding the table until the signing ends", async () => {
    const t = terminal();
    const dismiss = t.prompts.touchKey('db', KEY);
    await tick();
    assert.equal(t.text(), `Confirm user presence for key ${KEY} (touch your security key for db)\n`);
    assert.deepEqual(t.hooks, [`pause a touch of the security key ${KEY}`]);
    dismiss();
    await tick();
    assert.deepEqual(t.hooks, [`pause a touch of the security key ${KEY}`, 'resume']);
  });

  it('waits for a question being answered, and prints nothing if the signing ended meanwhile', async () => {
    const t = terminal();
    const password = t.prompts.password('web', 'alice');
    const dismiss = t.prompts.touchKey('db', KEY);
    await tick();
    assert.equal(t.text(), "alice@web's password: ", 'the question is not interrupted');
    dismiss();
    t.input.write('secret\n');
    assert.equal(await password, 'secret');
    await tick();
    assert.ok(!t.text().includes('Confirm user presence'), t.text());
  });

  it('shows the line after the question when the key is still signing', async () => {
    const t = terminal();
    const password = t.prompts.password('web', 'alice');
    const dismiss = t.prompts.touchKey('db', KEY);
    t.input.write('secret\n');
    await password;
    await tick();
    assert.ok(t.text().endsWith(`Confirm user presence for key ${KEY} (touch your security key for db)\n`), t.text());
    dismiss();
  });
});

describe('the touch of a security key over MCP', () => {
  it("is asked for in the log (stderr), as ssh's line", () => {
    const logged: string[] = [];
    const prompts = new McpPrompts({} as Server, (name) => `ssh-tunnels trust ${name}`, (m) => logged.push(m));
    prompts.touchKey('db', KEY)();
    assert.deepEqual(logged, [`Confirm user presence for key ${KEY} (touch your security key for db)`]);
  });
});
