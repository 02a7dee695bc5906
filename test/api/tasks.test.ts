// The sshTunnel task type and the localPort variable, as a person uses them from tasks.json and
// launch.json: Run Task lists the settings' tunnels; a task holds its tunnel while it runs; a
// preLaunchTask waits for the tunnel before VS Code's JavaScript debugger attaches, through it, to
// a `node --inspect` listening on the server's side; the debug session ends, and so does the tunnel.
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { freePort } from '../fixtures/sshd';
import { bound } from '../helpers/net';
import { run, waitFor } from '../helpers/vscode';
import { driver } from './driver';
import { apiEnv, trusted, until } from './setup';

const SERVER = 'task-sshd';

/** Resolves with the next event of `event` that `match` accepts. */
function next<T>(event: vscode.Event<T>, match: (e: T) => boolean, what: string, timeoutMs = 30_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sub.dispose();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    const sub = event((e) => {
      if (!match(e)) return;
      clearTimeout(timer);
      sub.dispose();
      resolve(e);
    });
  });
}

describe(`the sshTunnel task type and the localPort variable (${trusted ? 'trusted' : 'Restricted Mode'})`, function () {
  this.timeout(90_000);
  const env = apiEnv(SERVER);

  if (!trusted) {
    it('Restricted Mode: the variables open nothing (VS Code runs no tasks or launches there either)', async () => {
      await assert.rejects(
        Promise.resolve(vscode.commands.executeCommand('sshTunnels.localPort', { server: SERVER, type: 'local', remoteHost: '127.0.0.1', remotePort: 80 })),
        (err: Error & { code?: string }) => err.code === 'NOT_ALLOWED' && /Restricted Mode/.test(err.message),
      );
      assert.deepEqual(env.api.manager.listTunnels(SERVER), []);
    });
    return;
  }

  const folder = () => vscode.workspace.workspaceFolders![0];
  const entryState = (name: string) => env.api.catalogue.entries({ source: 'settings' }).find((e) => e.spec.name === name)?.state;
  const runningId = (name: string) => {
    const state = entryState(name);
    return state?.kind === 'running' ? state.tunnelId : undefined;
  };
  let inspector: ChildProcess;
  let inspectPort: number;
  let fixedPort: number;
  let fetched: string;
  /** A port some other program holds: a tunnel there cannot open. */
  let busy: net.Server;
  let busyPort: number;

  before(async () => {
    busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    busyPort = (busy.address() as net.AddressInfo).port;
    inspectPort = await freePort();
    fixedPort = await freePort();
    fetched = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-tunnels-task-')), 'fetched.txt');
    // The service to debug, listening on the server's side of the tunnel (the test sshd's loopback).
    inspector = spawn(process.execPath, [`--inspect=127.0.0.1:${inspectPort}`, '-e', 'setInterval(() => {}, 1000)'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let said = '';
    inspector.stderr?.on('data', (d: Buffer) => (said += d.toString()));
    await waitFor('node --inspect listening', () => said.includes('Debugger listening on ws://'), 15_000, () => said);

    await env.setTunnels([
      { name: 'api-inspect', server: SERVER, type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: inspectPort },
      { name: 'api-web2', server: SERVER, type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: env.webPort },
      { name: 'api-plain', server: SERVER, type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: env.webPort },
    ]);
    const vscodeDir = path.join(folder().uri.fsPath, '.vscode');
    const json = (file: string, value: object) => fs.writeFileSync(path.join(vscodeDir, file), JSON.stringify(value, null, 2));
    json('tasks.json', {
      version: '2.0.0',
      tasks: [
        { label: 'api: inspect tunnel', type: 'sshTunnel', tunnel: 'api-inspect' },
        { label: 'api: end inspect tunnel', type: 'sshTunnel', tunnel: 'api-inspect', close: true },
        { label: 'api: fixed tunnel', type: 'sshTunnel', spec: { server: SERVER, type: 'local', localPort: fixedPort, remoteHost: '127.0.0.1', remotePort: inspectPort, name: 'api-fixed' } },
        { label: 'api: web tunnel', type: 'sshTunnel', tunnel: 'api-web2' },
        { label: 'api: failing tunnel', type: 'sshTunnel', spec: { server: SERVER, type: 'local', localPort: busyPort, remoteHost: '127.0.0.1', remotePort: inspectPort } },
        {
          label: 'api: fetch through the tunnel',
          type: 'process',
          command: process.execPath,
          args: ['-e', `require('http').get('http://127.0.0.1:\${input:webPort}/', (r) => { let b = ''; r.on('data', (d) => (b += d)); r.on('end', () => require('fs').writeFileSync(${JSON.stringify(fetched)}, b)); })`],
          dependsOn: 'api: web tunnel',
        },
      ],
      inputs: [{ id: 'webPort', type: 'command', command: 'sshTunnels.localPort', args: { tunnel: 'api-web2' } }],
    });
    json('launch.json', {
      version: '0.2.0',
      configurations: [
        { name: 'api: attach through the tunnel', type: 'node', request: 'attach', address: '127.0.0.1', port: '${input:inspectPort}', preLaunchTask: 'api: inspect tunnel', postDebugTask: 'api: end inspect tunnel' },
        { name: 'api: attach on a fixed port', type: 'node', request: 'attach', address: '127.0.0.1', port: fixedPort, preLaunchTask: 'api: fixed tunnel' },
        { name: 'api: attach through a tunnel that cannot open', type: 'node', request: 'attach', address: '127.0.0.1', port: busyPort, preLaunchTask: 'api: failing tunnel' },
      ],
      inputs: [{ id: 'inspectPort', type: 'command', command: 'sshTunnels.localPort', args: { tunnel: 'api-inspect' } }],
    });
    await waitFor('tasks.json and launch.json read', () => {
      const tasks = vscode.workspace.getConfiguration('tasks', folder().uri).get<unknown[]>('tasks') ?? [];
      const launches = vscode.workspace.getConfiguration('launch', folder().uri).get<unknown[]>('configurations') ?? [];
      return tasks.length === 6 && launches.length === 3;
    });
  });

  after(async () => {
    for (const e of vscode.tasks.taskExecutions) e.terminate();
    inspector?.kill();
    busy?.close();
    for (const f of ['tasks.json', 'launch.json']) fs.rmSync(path.join(folder().uri.fsPath, '.vscode', f), { force: true });
  });

  it('Run Task lists a task for every tunnel of the settings (under the label tasks.json gives one), and the tasks of tasks.json', async () => {
    const tasks = await vscode.tasks.fetchTasks({ type: 'sshTunnel' });
    const names = tasks.map((t) => t.name);
    // api-inspect and api-web2 are customized by tasks.json (the same definition): they show with its labels.
    for (const n of ['api-plain', 'api: inspect tunnel', 'api: web tunnel', 'api: fixed tunnel', 'api: end inspect tunnel']) assert.ok(names.includes(n), `${n} in ${names.join(', ')}`);
    assert.ok(!names.includes('api-inspect') && !names.includes('api-web2'), names.join(', '));
    const provided = tasks.find((t) => t.name === 'api-plain')!;
    assert.deepEqual(provided.definition, { type: 'sshTunnel', tunnel: 'api-plain' });
    assert.equal(provided.isBackground, true);
  });

  it('a task holds its tunnel while it runs and closes it when terminated', async () => {
    const task = (await vscode.tasks.fetchTasks({ type: 'sshTunnel' })).find((t) => t.name === 'api-plain')!;
    assert.equal(entryState('api-plain')?.kind, 'stopped');
    const execution = await vscode.tasks.executeTask(task);
    const id = await waitFor('the task\'s tunnel running', () => runningId('api-plain'));
    await waitFor('held by the task', () => env.api.catalogue.holders(id).includes('task "api-plain"'));
    const port = env.api.manager.getTunnel(id)!.localPort;
    assert.equal(await bound(port), true);
    const ended = next(vscode.tasks.onDidEndTask, (e) => e.execution.task.name === 'api-plain', 'the task to end');
    execution.terminate();
    await ended;
    await waitFor('the tunnel stopped again', () => entryState('api-plain')?.kind === 'stopped');
    assert.equal(await bound(port), false);
  });

  it('dependsOn waits for the tunnel, and ${input:…} gives the next task its local port', async () => {
    const fetch = (await vscode.tasks.fetchTasks()).find((t) => t.name === 'api: fetch through the tunnel')!;
    const ended = next(vscode.tasks.onDidEndTaskProcess, (e) => e.execution.task.name === 'api: fetch through the tunnel', 'the fetch task to end');
    await vscode.tasks.executeTask(fetch);
    assert.equal((await ended).exitCode, 0);
    await waitFor('the page fetched through the tunnel', () => fs.existsSync(fetched) && fs.readFileSync(fetched, 'utf8') === 'hello, api');
    const id = runningId('api-web2')!;
    assert.deepEqual(env.api.catalogue.holders(id), ['task "api: web tunnel"'], 'the variable kept nothing: the task holds it');
    const web = vscode.tasks.taskExecutions.find((e) => e.task.name === 'api: web tunnel')!;
    web.terminate();
    await waitFor('the tunnel stopped with its task', () => entryState('api-web2')?.kind === 'stopped');
  });

  it('a preLaunchTask waits for its tunnel: the debugger attaches through it once it is active', async () => {
    assert.equal(await bound(fixedPort), false);
    let activeAt = 0;
    const watch = env.api.manager.onDidChangeTunnel((t) => t.localPort === fixedPort && t.state === 'active' && !activeAt && (activeAt = Date.now()));
    const started = next(vscode.debug.onDidStartDebugSession, (s) => s.name === 'api: attach on a fixed port', 'the debug session');
    assert.equal(await vscode.debug.startDebugging(folder(), 'api: attach on a fixed port'), true);
    const session = await started;
    const startedAt = Date.now();
    watch.dispose();
    assert.ok(activeAt > 0 && activeAt <= startedAt, 'the tunnel was active before the session started');
    const tunnel = env.api.manager.listTunnels(SERVER).find((t) => t.localPort === fixedPort)!;
    assert.equal(tunnel.name, 'api-fixed');
    assert.equal(tunnel.openedBy, 'extension');
    await waitFor('the debugger connected through the tunnel', () => (env.api.manager.getTunnel(tunnel.id)?.stats.connectionsTotal ?? 0) > 0);
    const stopped = next(vscode.debug.onDidTerminateDebugSession, (s) => s.id === session.id, 'the session to end');
    await vscode.debug.stopDebugging(session);
    await stopped;
    const task = vscode.tasks.taskExecutions.find((e) => e.task.name === 'api: fixed tunnel')!;
    assert.ok(task, 'the tunnel task runs on after the session (no postDebugTask)');
    task.terminate();
    await waitFor('the tunnel closed with its task', () => !env.api.manager.getTunnel(tunnel.id));
  });

  it('a preLaunchTask whose tunnel cannot open stops the launch, saying why', async () => {
    await vscode.commands.executeCommand('notifications.clearAll');
    let sessions = 0;
    const watch = vscode.debug.onDidStartDebugSession(() => sessions++);
    const ended = next(vscode.tasks.onDidEndTaskProcess, (e) => e.execution.task.name === 'api: failing tunnel', 'the failing task to end');
    const launched = await vscode.debug.startDebugging(folder(), 'api: attach through a tunnel that cannot open');
    assert.equal((await ended).exitCode, undefined, 'ended without an exit code');
    watch.dispose();
    assert.equal(launched, false);
    assert.equal(sessions, 0, 'no debug session started');
    const shown = await until('the failure shown', async () => (await driver.notifications()).find((m) => m.startsWith('The task "api: failing tunnel" could not open its SSH tunnel:')));
    // This extension host holds the port (the suite bound it), and the engine names it.
    assert.match(shown, new RegExp(`Local port ${busyPort} on 127\\.0\\.0\\.1 is held by this program \\(pid ${process.pid}\\)`));
    assert.equal(await bound(busyPort), true, 'the other program keeps its port');
  });

  it('F5 with the port from ${input:…}: the JavaScript debugger attaches to node --inspect on the server side; the session stops, and postDebugTask closes the tunnel', async () => {
    assert.equal(entryState('api-inspect')?.kind, 'stopped');
    const children: vscode.DebugSession[] = [];
    const watching = vscode.debug.onDidStartDebugSession((s) => children.push(s));
    const started = next(vscode.debug.onDidStartDebugSession, (s) => s.name === 'api: attach through the tunnel', 'the debug session');
    assert.equal(await vscode.debug.startDebugging(folder(), 'api: attach through the tunnel'), true);
    const session = await started;
    const id = runningId('api-inspect')!;
    assert.ok(id, 'the settings tunnel runs');
    const tunnel = env.api.manager.getTunnel(id)!;
    assert.equal(String(session.configuration.port), String(tunnel.localPort), 'the port came from the variable');
    assert.notEqual(tunnel.localPort, inspectPort);
    assert.deepEqual(env.api.catalogue.holders(id), ['task "api: inspect tunnel"'], 'the preLaunchTask holds it; the variable gave way');
    await waitFor('the debugger connected through the tunnel', () => (env.api.manager.getTunnel(id)?.stats.connectionsActive ?? 0) > 0);
    // The session is live: js-debug attached to the process (its child session) and sees its thread.
    const child = await waitFor('the attached target\'s session', () => children.find((s) => s.parentSession?.id === session.id), 30_000);
    const threads = await child.customRequest('threads');
    assert.ok(Array.isArray(threads.threads) && threads.threads.length > 0, JSON.stringify(threads));
    watching.dispose();
    // What the task's terminal tells: opening, ready with the address, the debugger's connection.
    const terminal = await waitFor('the task\'s terminal', () => vscode.window.terminals.find((t) => t.name.includes('api: inspect tunnel')), 15_000, () => vscode.window.terminals.map((t) => t.name));
    terminal.show();
    const said = await until('the task\'s lines on screen', async () => {
      const text = await driver.terminalText();
      return text.includes('[event]') ? text : undefined;
    });
    assert.ok(said.includes('[opening] Opening api-inspect through task-sshd…'), said);
    assert.match(said, new RegExp(`\\[ready\\] api-inspect is open\\. Connect to 127\\.0\\.0\\.1:${tunnel.localPort} to reach 127\\.0\\.0\\.1:${inspectPort}`));
    assert.match(said, /\[event\] \d+ new connections? \(\d+ open, \d+ in all\)/);
    await driver.screenshot('api-task-terminal');

    const stopped = next(vscode.debug.onDidTerminateDebugSession, (s) => s.id === session.id, 'the session to end');
    await vscode.debug.stopDebugging(session);
    await stopped;
    await waitFor('postDebugTask ended the tunnel task, and the tunnel stopped', () => entryState('api-inspect')?.kind === 'stopped', 30_000, () => entryState('api-inspect'));
    assert.equal(await bound(tunnel.localPort), false);
    assert.equal(vscode.tasks.taskExecutions.some((e) => e.task.name === 'api: inspect tunnel'), false);
  });

  it('the variables answer a name with the port or host:port, opening the tunnel if it is not open (or ask which); an unknown name says which exist', async () => {
    const port = await run<string>('localPort', { tunnel: 'api-web2' });
    assert.match(port, /^\d+$/);
    const id = runningId('api-web2')!;
    assert.equal(env.api.manager.getTunnel(id)?.localPort, Number(port));
    assert.equal(await run<string>('localAddress', { tunnel: 'api-web2' }), `127.0.0.1:${port}`);
    await assert.rejects(Promise.resolve(run('localPort', { tunnel: 'nope' })), /No tunnel is named "nope"\. Named tunnels: .*api-web2/);
    // With no argument, the person picks the tunnel.
    const picked = run<string>('localPort');
    await driver.typeInput('api-web2');
    assert.equal(await picked, port);
    await run('stopTunnel', id);
  });
});
