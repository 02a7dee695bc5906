// "Create Tunnel": from the palette or a server's item, the three questions (server, type, the
// forward as ssh writes it), or straight from an argument; the tunnel opens through the
// catalogue's front door as the person's.
import * as vscode from 'vscode';
import { servedByPeerError } from '../../catalogue';
import { FORWARD_EXAMPLES, parseForward } from '../../config/forwardSpec';
import { configuredTarget, errorMessage, TunnelError, type TunnelInfo, type TunnelSpec, type TunnelType } from '../../engine';
import { isTreeNode, tunnelLabel } from '../tree';
import type { CommandDeps } from './deps';
import { showError } from './errors';
import { COMMANDS } from './ids';

/** A create-tunnel argument: a TunnelSpec, or a server plus an OpenSSH-style forward. */
export type CreateTunnelArg = TunnelSpec | { server: string; forward: string; name?: string };

export function toSpec(arg: CreateTunnelArg): TunnelSpec {
  if ('forward' in arg && typeof arg.forward === 'string') {
    const parsed = parseForward(arg.forward);
    if (!parsed.ok) throw new TunnelError('INVALID_SPEC', parsed.error);
    return { server: arg.server, name: arg.name, ...parsed.forward };
  }
  return arg as TunnelSpec;
}

async function pickServer({ servers, manager }: Pick<CommandDeps, 'servers' | 'manager'>): Promise<string | undefined> {
  const t = vscode.l10n.t;
  const list = servers.list();
  const addItem: vscode.QuickPickItem = { label: `$(add) ${t('Add a server…')}`, alwaysShow: true };
  const items: vscode.QuickPickItem[] = [
    ...list.map((s) => ({
      label: s.alias,
      description: configuredTarget(s),
      detail: manager.serverStatus(s.alias).state,
    })),
    addItem,
  ];
  const picked = await vscode.window.showQuickPick(items, { title: t('Create SSH tunnel (1/3): server'), placeHolder: t('Which server carries the tunnel?') });
  if (!picked) return undefined;
  if (picked === addItem) return (await vscode.commands.executeCommand<string | undefined>(COMMANDS.addServer)) ?? undefined;
  return picked.label;
}

async function pickType(): Promise<TunnelType | undefined> {
  const t = vscode.l10n.t;
  const items: (vscode.QuickPickItem & { type: TunnelType })[] = [
    { type: 'local', label: `$(arrow-right) ${t('Local (-L)')}`, detail: t('A port on this machine reaches a host:port through the server (databases, dashboards).') },
    { type: 'remote', label: `$(arrow-left) ${t('Remote (-R)')}`, detail: t('A port on the server reaches a host:port from this machine, or is a SOCKS proxy that reaches what this machine can.') },
    { type: 'dynamic', label: `$(globe) ${t('Dynamic SOCKS (-D)')}`, detail: t('A SOCKS proxy on this machine that reaches anything the server can.') },
  ];
  return (await vscode.window.showQuickPick(items, { title: t('Create SSH tunnel (2/3): type') }))?.type;
}

/** The forward input box; validates as the person types and refuses to accept a bad forward. */
async function askForward({ inputs }: Pick<CommandDeps, 'inputs'>, type: TunnelType): Promise<string | undefined> {
  const t = vscode.l10n.t;
  const box = vscode.window.createInputBox();
  box.title = t('Create SSH tunnel (3/3): ports and hosts');
  box.prompt = t('OpenSSH form: {0}', FORWARD_EXAMPLES[type]);
  box.placeholder = type === 'dynamic' ? '1080'
    : type === 'local' ? t('8080:localhost:80, 2375:/var/run/docker.sock or /tmp/db.sock:db:5432')
      : t('9000:localhost:3000, 9000:/tmp/app.sock, or 1080 alone for a SOCKS proxy on the server');
  box.ignoreFocusOut = true;
  const check = (value: string) => {
    const parsed = parseForward(value, type);
    box.validationMessage = value.trim() === '' || parsed.ok ? undefined : parsed.error;
    return parsed.ok;
  };
  inputs.forward = box;
  return new Promise<string | undefined>((resolve) => {
    let done = false;
    const finish = (value: string | undefined) => {
      if (done) return;
      done = true;
      if (inputs.forward === box) inputs.forward = undefined;
      box.dispose();
      resolve(value);
    };
    box.onDidChangeValue(check);
    box.onDidAccept(() => {
      if (check(box.value)) finish(box.value);
    });
    box.onDidHide(() => finish(undefined));
    box.show();
  });
}

/** A person's tunnel, through the catalogue's front door (a script may open it as an agent's). */
async function openAsPerson({ catalogue }: Pick<CommandDeps, 'catalogue'>, spec: TunnelSpec): Promise<TunnelInfo> {
  const opened = await catalogue.open(spec, spec.openedBy === 'agent' ? 'agent' : 'person');
  if (opened.peer) throw servedByPeerError(opened.peer);
  return opened.here;
}

/** Opens with a person there: a failure is shown with the way past it (a busy port offers another). */
async function openInteractively(deps: CommandDeps, spec: TunnelSpec): Promise<TunnelInfo | undefined> {
  const attempt = async (change: Partial<TunnelSpec>): Promise<TunnelInfo> => {
    spec = { ...spec, ...change };
    const info = await openAsPerson(deps, spec);
    void vscode.window.setStatusBarMessage(vscode.l10n.t('Tunnel {0} is open', tunnelLabel(info)), 4000);
    return info;
  };
  try {
    return await attempt({});
  } catch (err) {
    deps.log.error(`createTunnel: ${errorMessage(err)}`);
    void showError(deps, err, attempt);
    return undefined;
  }
}

export async function createTunnel(deps: CommandDeps, ...args: unknown[]): Promise<TunnelInfo | undefined> {
  const arg = args[0];
  if (arg !== undefined && !isTreeNode(arg)) return openAsPerson(deps, toSpec(arg as CreateTunnelArg));
  const server = isTreeNode(arg) && arg.kind === 'server' ? arg.name : await pickServer(deps);
  if (!server) return undefined;
  const type = await pickType();
  if (!type) return undefined;
  const forward = await askForward(deps, type);
  if (forward === undefined) return undefined;
  const parsed = parseForward(forward, type);
  if (!parsed.ok) throw new TunnelError('INVALID_SPEC', parsed.error);
  return openInteractively(deps, { server, ...parsed.forward });
}
