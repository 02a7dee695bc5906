import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TunnelError, TunnelManager, type ServerConfig } from '../../src/engine';
import { agentPathProblem, findAgent, isWindowsPipe, WINDOWS_PIPE_DIR } from '../../src/engine/login/agentLocation';
import { SshdFixture } from '../fixtures/sshd';
import { staticServers } from '../helpers/servers';
import { startSshAgent, type SshAgent } from '../helpers/sshAgent';

const PAGEANT = 'pageant.alice.0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0';
const pipes = (...names: string[]) => () => names;

describe('which ssh-agent a login asks, per platform (as ssh finds it there)', () => {
  it('IdentityAgent first, then SSH_AUTH_SOCK, on every platform; `none` asks no agent', () => {
    for (const platform of ['linux', 'darwin', 'win32'] as const) {
      const env = { SSH_AUTH_SOCK: '/run/agent.sock' };
      assert.deepEqual(findAgent('/my/agent', { platform, env, listPipes: pipes('openssh-ssh-agent') }), { path: '/my/agent', source: 'IdentityAgent' });
      assert.deepEqual(findAgent(undefined, { platform, env, listPipes: pipes('openssh-ssh-agent') }), { path: '/run/agent.sock', source: 'SSH_AUTH_SOCK' });
      assert.equal(findAgent(false, { platform, env }), undefined);
    }
    // Written in settings as people write paths there.
    assert.equal(findAgent('~/.1password/agent.sock', { platform: 'darwin', home: '/Users/alice' })?.path, '/Users/alice/.1password/agent.sock');
    assert.equal(findAgent('%USERPROFILE%\\agent.sock', { platform: 'win32', home: 'C:\\Users\\alice', env: { USERPROFILE: 'C:\\Users\\alice' } })?.path, 'C:\\Users\\alice\\agent.sock');
  });

  it('Linux and macOS: SSH_AUTH_SOCK or nothing (launchd sets it on macOS); no pipes are looked for', () => {
    for (const platform of ['linux', 'darwin'] as const) {
      assert.equal(findAgent(undefined, { platform, env: {}, listPipes: () => assert.fail('no pipes on ' + platform) }), undefined);
      assert.equal(findAgent(undefined, { platform, env: { SSH_AUTH_SOCK: '' } }), undefined);
    }
    const macos = '/private/tmp/com.apple.launchd.AbCdEf/Listeners';
    assert.equal(findAgent(undefined, { platform: 'darwin', env: { SSH_AUTH_SOCK: macos } })?.path, macos);
  });

  it("Windows: SSH_AUTH_SOCK in any case of its name, then Windows' OpenSSH agent pipe, then Pageant's, never another user's", () => {
    const win = (env: NodeJS.ProcessEnv, ...names: string[]) => findAgent(undefined, { platform: 'win32', env, user: 'Alice', listPipes: pipes(...names) });
    assert.equal(win({ Ssh_Auth_Sock: '\\\\.\\pipe\\my-agent' })?.path, '\\\\.\\pipe\\my-agent');
    assert.deepEqual(win({}, 'lsass', PAGEANT, 'openssh-ssh-agent'), { path: `${WINDOWS_PIPE_DIR}openssh-ssh-agent`, source: 'the Windows OpenSSH agent' });
    assert.deepEqual(win({}, 'lsass', PAGEANT), { path: `${WINDOWS_PIPE_DIR}${PAGEANT}`, source: 'Pageant' });
    assert.equal(win({}, 'lsass', PAGEANT.replace('alice', 'mallory')), undefined, "another user's Pageant is not asked");
    assert.equal(win({}, 'lsass', 'pageant.alice.not-hex'), undefined);
    assert.equal(win({}, 'lsass'), undefined, 'no agent running: none asked');
    // Pipes that cannot be listed: the one ssh.exe asks.
    const unlisted = findAgent(undefined, { platform: 'win32', env: {}, listPipes: () => { throw new Error('EPERM'); } });
    assert.equal(unlisted?.path, '\\\\.\\pipe\\openssh-ssh-agent');
    assert.ok(isWindowsPipe(unlisted!.path));
    assert.ok(isWindowsPipe('//./pipe/openssh-ssh-agent'));
    assert.ok(!isWindowsPipe('C:\\Users\\alice\\agent.sock'));
  });

  it('the Unix socket path limit: 103 bytes on macOS (where $TMPDIR is long), 107 on Linux; pipes have none', () => {
    const long = `/var/folders/zz/zyxvpxvq6csfxvn_n0000000000000/T/${'x'.repeat(60)}/agent.sock`;
    assert.equal(Buffer.byteLength(long), 120);
    assert.match(agentPathProblem(long, 'darwin') ?? '', /^its path is 120 bytes long; a Unix socket path can have at most 103 on macOS: set IdentityAgent to a shorter path, such as a link made with ln -s ".*" ~\/\.ssh\/agent\.sock$/);
    assert.match(agentPathProblem(long, 'linux') ?? '', /at most 107 on linux/);
    const onePassword = '/Users/alice/Library/Group Containers/2BUA8C4S2C.com.1password/t/agent.sock';
    assert.equal(agentPathProblem(onePassword, 'darwin'), undefined, "1Password's agent fits");
    const mid = '/' + 'm'.repeat(104);
    assert.ok(agentPathProblem(mid, 'darwin'));
    assert.equal(agentPathProblem(mid, 'linux'), undefined);
    assert.equal(agentPathProblem('\\\\.\\pipe\\' + 'p'.repeat(200), 'win32'), undefined);
  });

  it('Windows: `IdentityAgent \\\\.\\pipe\\NAME` as written reads as \\.\\pipe\\NAME (a config takes \\\\ for one backslash, as ssh.exe 8.9+ does): said, with the two ways that work', () => {
    const problem = agentPathProblem('\\.\\pipe\\pageant.alice.0f1e', 'win32') ?? '';
    assert.equal(problem, 'it names no pipe: a config reads \\\\ as one backslash, so write IdentityAgent //./pipe/pageant.alice.0f1e (as Pageant writes it) or \\\\\\\\.\\\\pipe\\\\pageant.alice.0f1e');
    assert.equal(agentPathProblem('//./pipe/pageant.alice.0f1e', 'win32'), undefined);
    assert.equal(agentPathProblem('\\.\\pipe\\x', 'linux'), undefined, 'elsewhere a relative path like any other');
  });
});

describe('logging in through the agent found as on Windows, with a Unix socket standing in for its pipe', function () {
  this.timeout(60_000);
  let sshd: SshdFixture;
  let agent: SshAgent;
  let pipeDir: string;
  before(async () => {
    sshd = await SshdFixture.start();
    // A short folder: Pageant's pipe name is 78 characters, and a Unix socket path has room for 107.
    pipeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'p')) + path.sep;
    agent = await startSshAgent(sshd.dir, [sshd.clientKeyPath]);
  });
  after(async () => {
    agent?.stop();
    await sshd?.stop();
    if (pipeDir) fs.rmSync(pipeDir, { recursive: true, force: true });
  });

  async function loginThrough(name: string): Promise<string> {
    fs.rmSync(pipeDir, { recursive: true, force: true });
    fs.mkdirSync(pipeDir);
    fs.symlinkSync(agent.socket, pipeDir + name);
    const found = findAgent(undefined, { platform: 'win32', env: {}, user: 'alice', pipeDir });
    assert.ok(found, 'an agent was found');
    // The key is only in the agent: the login works only if the chosen "pipe" reaches it.
    const server: ServerConfig = sshd.server('win-agent', { identityFile: path.join(sshd.dir, 'no-such-key'), identityAgent: found.path });
    const manager = new TunnelManager({ servers: staticServers(server), reconnect: { maxAttempts: 0 } });
    try {
      assert.equal((await manager.connectServer('win-agent')).state, 'connected');
    } finally {
      await manager.dispose();
    }
    return found.source;
  }

  it("the OpenSSH agent's pipe, then Pageant's, each reaching a real agent", async () => {
    assert.equal(await loginThrough('openssh-ssh-agent'), 'the Windows OpenSSH agent');
    assert.equal(await loginThrough(PAGEANT), 'Pageant');
  });

  it('an agent path too long for a Unix socket is named in the refusal instead of failing silently', async () => {
    const long = path.join(sshd.dir, 'l'.repeat(110), 'agent.sock');
    const server = sshd.server('long-agent', { identityFile: path.join(sshd.dir, 'no-such-key'), identityAgent: long });
    const manager = new TunnelManager({ servers: staticServers(server), reconnect: { maxAttempts: 0 } });
    try {
      await manager.connectServer('long-agent');
      assert.fail('the login should have failed');
    } catch (err) {
      assert.ok(err instanceof TunnelError, String(err));
      assert.ok(err.message.includes(`ssh-agent at ${long} (its path is ${Buffer.byteLength(long)} bytes long`), err.message);
    } finally {
      await manager.dispose();
    }
  });
});
