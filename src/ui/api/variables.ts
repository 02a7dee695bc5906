// sshTunnels.localPort and sshTunnels.localAddress: a tunnel's local port (or host:port) for
// `${input:…}` of type command in launch.json and tasks.json. They open the tunnel when it is not
// open; since VS Code reads the variables before it runs the preLaunchTask, the tunnel they open is
// held only until a task takes it over (then it closes with that task).
import * as vscode from 'vscode';
import type { HeldTunnel } from '../../catalogue';
import { errorMessage, makeAddress } from '../../engine';
import { connectHost } from '../../tools';
import { SshTunnelsError } from './errors';
import { API_COMMANDS, TASK_TYPE } from './ids';
import type { Requests } from './requests';
import type { TunnelTaskDefinition } from './taskTerminal';

export interface VariableDeps {
  requests: Requests;
  log: vscode.LogOutputChannel;
}

/** A tunnel named only by a task of tasks.json (`"spec": { …, "name": … }`): its spec. */
async function taskSpecNamed(name: string): Promise<unknown> {
  const tasks = await vscode.tasks.fetchTasks({ type: TASK_TYPE });
  return tasks.map((t) => t.definition as TunnelTaskDefinition).find((d) => !d.close && d.spec?.name === name)?.spec;
}

/** Which tunnel, when the command is given no argument: the named ones. */
async function pick(requests: Requests): Promise<unknown> {
  const t = vscode.l10n.t;
  const names = requests.names();
  if (!names.length) {
    void vscode.window.showInformationMessage(t('No tunnel has a name yet: give one a "name" in sshTunnels.tunnels.'));
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(names, { title: t('SSH tunnel'), placeHolder: t('Which tunnel\'s local port?') });
  return picked === undefined ? undefined : { tunnel: picked };
}

/** Opens (or finds open) the tunnel `args` names; undefined when the person dismissed the pick. */
async function resolve(deps: VariableDeps, command: string, args: unknown): Promise<HeldTunnel | undefined> {
  const request = args === undefined || args === null ? await pick(deps.requests) : args;
  if (request === undefined) return undefined;
  if (!vscode.workspace.isTrusted) throw new SshTunnelsError('NOT_ALLOWED', `${command} opens no tunnel in Restricted Mode: trust the workspace first.`);
  let target;
  try {
    target = deps.requests.parse(request, command, { loopback: false });
  } catch (err) {
    const name = (request as { tunnel?: unknown }).tunnel;
    const spec = err instanceof SshTunnelsError && err.code === 'UNKNOWN_TUNNEL' && typeof name === 'string' ? await taskSpecNamed(name) : undefined;
    if (!spec) throw err;
    target = deps.requests.parse(spec, command, { loopback: false });
  }
  const hold = await deps.requests.hold(target, 'launch configuration', { provisional: true });
  return hold.opened;
}

export function registerVariables(deps: VariableDeps): vscode.Disposable[] {
  const command = (id: string, answer: (t: HeldTunnel) => string) =>
    vscode.commands.registerCommand(id, async (args?: unknown) => {
      try {
        const tunnel = await resolve(deps, id, args);
        return tunnel && answer(tunnel);
      } catch (err) {
        deps.log.warn(`${id}: ${errorMessage(err)}`);
        throw err;
      }
    });
  return [
    // VS Code takes a command variable's value only as a string.
    command(API_COMMANDS.localPort, ({ info }) => {
      if (info.localPath !== undefined) throw new SshTunnelsError('INVALID_SPEC', `${info.name} uses the socket file ${info.localPath}, not a port: use ${API_COMMANDS.localAddress}.`);
      return String(info.localPort);
    }),
    command(API_COMMANDS.localAddress, ({ info }) => info.localPath ?? makeAddress(info.type === 'remote' ? info.localHost : connectHost(info.localHost), info.localPort)),
  ];
}
