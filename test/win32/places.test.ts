// Where Windows' OpenSSH keeps its files, and how Windows people write a config: the system's
// %PROGRAMDATA%\ssh\ssh_config and ssh_known_hosts, a user config saved by Notepad (byte-order
// mark, CRLF), paths with forward slashes and ~\, a ProxyCommand that only cmd.exe understands
// (`set X=…&&`, %%VAR%% for cmd's %VAR%), and a `Match exec` command that only cmd.exe understands.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { freePort, SshdFixture } from '../fixtures/sshd';
import { echoRoundTrip, startEchoServer } from '../helpers/net';
import { cli, DRIVE_C, HOME, NODE_EXE, onC, script, stopWindowsProcesses, WinProcess, writeFile, z } from './wine';

const HOSTS = ['sys', 'jump', 'slashes', 'matched'] as const;

describe("Windows: the config places and commands of Windows' OpenSSH", function () {
  this.timeout(90_000);
  stopWindowsProcesses('all');
  let sshd: SshdFixture;
  let echo: Awaited<ReturnType<typeof startEchoServer>>;
  let up: WinProcess;
  const ports = new Map<string, number>();
  const programData = path.join(DRIVE_C, 'ProgramData', 'ssh');

  before(async () => {
    sshd = await SshdFixture.start();
    // `matched` listens nowhere unless its Match exec ran through cmd.exe and said yes.
    const closed = await freePort();
    echo = await startEchoServer();
    const key = fs.readFileSync(sshd.clientKeyPath, 'utf8');
    writeFile(path.join(HOME, '.ssh', 'id_test'), key);
    writeFile(path.join(HOME, '.ssh', 'fwd_key'), key);
    const hostKey = fs.readFileSync(sshd.knownHostsPath, 'utf8');
    writeFile(path.join(HOME, '.ssh', 'other_known_hosts'), hostKey, { crlf: true });
    // Known only to the system's file: `sys` reads no user one.
    writeFile(path.join(programData, 'ssh_known_hosts'), hostKey, { crlf: true });
    writeFile(path.join(programData, 'ssh_config'), [`Host sys`, `  HostName 127.0.0.1`, `  Port ${sshd.port}`, `  UserKnownHostsFile ~\\.ssh\\no_such_file`, ''].join('\n'), { crlf: true });
    const relay = `set RELAY_VIA=cmd&& "${z(NODE_EXE)}" "${script('relay.cjs')}" %h %p "%%USERPROFILE%%\\relay.log"`;
    writeFile(
      path.join(HOME, '.ssh', 'config'),
      [
        `Match host matched exec "if exist %%USERPROFILE%%\\.ssh\\config (exit 0) else (exit 1)"`,
        `  Port ${sshd.port}`,
        'Host matched',
        '  HostName 127.0.0.1',
        `  Port ${closed}`,
        'Host jump',
        '  HostName 127.0.0.1',
        `  Port ${sshd.port}`,
        `  ProxyCommand ${relay}`,
        'Host slashes',
        '  HostName 127.0.0.1',
        `  Port ${sshd.port}`,
        '  IdentitiesOnly yes',
        '  IdentityAgent none',
        `  IdentityFile ${onC(path.join(HOME, '.ssh', 'fwd_key')).replace(/\\/g, '/')}`,
        'Host *',
        `  User ${sshd.user}`,
        '  IdentityAgent none',
        '  IdentityFile ~\\.ssh\\id_test',
        `  UserKnownHostsFile ${onC(path.join(HOME, '.ssh', 'other_known_hosts')).replace(/\\/g, '/')}`,
        '',
      ].join('\n'),
      { crlf: true, bom: true },
    );
    const tunnels = [];
    for (const host of HOSTS) {
      ports.set(host, await freePort());
      tunnels.push({ name: `to-${host}`, server: host, type: 'local', localPort: ports.get(host), remoteHost: '127.0.0.1', remotePort: echo.port, autoStart: true });
    }
    const folder = path.join(HOME, 'projects', 'places');
    writeFile(path.join(folder, '.vscode', 'settings.json'), JSON.stringify({ 'sshTunnels.tunnels': tunnels }, null, 2));
    const allow = cli(['allow', onC(folder)]);
    assert.equal(await allow.exited, 0, allow.text());
    up = cli(['up', '--workspace', onC(folder)]);
  });
  after(async () => {
    await up?.stop();
    await sshd?.stop();
    await echo?.close();
    for (const p of [path.join(HOME, '.ssh'), path.join(HOME, 'projects'), programData, path.join(HOME, 'relay.log')]) fs.rmSync(p, { recursive: true, force: true });
  });

  const WHAT: Record<(typeof HOSTS)[number], string> = {
    sys: 'a host of %PROGRAMDATA%\\ssh\\ssh_config, its key known from %PROGRAMDATA%\\ssh\\ssh_known_hosts',
    jump: 'a ProxyCommand run by cmd.exe (set …&&, %%USERPROFILE%%)',
    slashes: 'IdentityFile and UserKnownHostsFile written C:/…/…',
    matched: 'a Match exec run by cmd.exe (if exist %%USERPROFILE%%…) giving the port',
  };
  for (const host of HOSTS) {
    it(`${host}: ${WHAT[host]}; its tunnel carries 1 MiB intact`, async () => {
      await up.waitFor(new RegExp(`to-${host}: open, listening on 127\\.0\\.0\\.1:${ports.get(host)}`));
      const r = await echoRoundTrip(ports.get(host)!, 1024 * 1024);
      assert.equal(r.received, r.sent);
    });
  }

  it('the ProxyCommand ran through cmd.exe: it set its variable and expanded %USERPROFILE%', () => {
    const log = fs.readFileSync(path.join(HOME, 'relay.log'), 'utf8');
    assert.match(log, new RegExp(`relay: connected to 127\\.0\\.0\\.1:${sshd.port}, via cmd`));
  });

  it('the config saved with a byte-order mark and CRLF lines gave no warning', () => {
    assert.doesNotMatch(up.text(), /warning|unknown keyword/i);
  });
});
