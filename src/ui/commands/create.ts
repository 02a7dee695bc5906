// "Create Tunnel": from the palette or the view, the steps of createSteps.ts (server, type, the
// forward as typed, a name), or straight from an argument; the tunnel opens through the
// catalogue's front door as the person's, and one whose server is down waits for it.
import * as vscode from 'vscode';
import { servedByPeerError } from '../../catalogue';
import { parseForward } from '../../config/forwardSpec';
import { errorMessage, TunnelError, type TunnelInfo, type TunnelSpec } from '../../engine';
import { isTreeNode, tunnelLabel, type TreeNode } from '../tree';
import { createSteps } from './createSteps';
import type { CommandDeps } from './deps';
import { showError } from './errors';
import { addServerAsked } from './servers';

/** A create-tunnel argument: a TunnelSpec, or a server plus an OpenSSH-style forward. */
export type CreateTunnelArg = TunnelSpec | { server: string; forward: string; name?: string };

export function toSpec(arg: CreateTunnelArg): TunnelSpec {
  if (!arg || typeof arg !== 'object') throw new TunnelError('INVALID_SPEC', vscode.l10n.t('Create Tunnel takes a tunnel spec, or a server and a forward; got {0}.', JSON.stringify(arg)));
  if ('forward' in arg && typeof arg.forward === 'string') {
    const parsed = parseForward(arg.forward);
    if (!parsed.ok) throw new TunnelError('INVALID_SPEC', parsed.error);
    return { server: arg.server, name: arg.name, ...parsed.forward };
  }
  return arg as TunnelSpec;
}

/** A person's tunnel, through the catalogue's front door (a script may open it as an agent's). */
async function openAsPerson({ catalogue }: Pick<CommandDeps, 'catalogue'>, spec: TunnelSpec): Promise<TunnelInfo> {
  const opened = await catalogue.open(spec, spec.openedBy === 'agent' ? 'agent' : 'person');
  if (opened.peer) throw servedByPeerError(opened.peer);
  return opened.here;
}

/** Opens with a person there: a failure is shown with the way past it (a busy port offers another, anything else Retry with the spec kept). */
export async function openInteractively(deps: CommandDeps, spec: TunnelSpec): Promise<TunnelInfo | undefined> {
  const attempt = async (change: Partial<TunnelSpec>): Promise<TunnelInfo> => {
    spec = { ...spec, ...change };
    const info = await openAsPerson(deps, spec);
    tellOpened(deps, info);
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

/** Says a tunnel is open; one that waits for its server (down now, retried like the others) says so and why. */
function tellOpened(deps: Pick<CommandDeps, 'log'>, info: TunnelInfo): void {
  const t = vscode.l10n.t;
  if (info.state !== 'reconnecting') {
    void vscode.window.setStatusBarMessage(t('Tunnel {0} is open', tunnelLabel(info)), 4000);
    return;
  }
  const showLog = t('Show Log');
  const message = t('{0} does not answer ({1}). The tunnel {2} is kept and opens as soon as it does.', info.server, info.lastError ?? t('no answer'), tunnelLabel(info));
  void vscode.window.showWarningMessage(message, showLog).then((choice) => choice === showLog && deps.log.show(true));
}

/** The tree's node an argument names, if it still stands for a row (a focused row may be gone, and a title action passes null). */
function liveNode(deps: CommandDeps, arg: unknown): TreeNode | undefined {
  if (!isTreeNode(arg)) return undefined;
  return !deps.tree || deps.tree.has(arg) ? arg : undefined;
}

export async function createTunnel(deps: CommandDeps, ...args: unknown[]): Promise<TunnelInfo | undefined> {
  const arg = args[0];
  // From a script: a spec, or a server and a forward; from the view or the palette: null, undefined or a row.
  if (arg !== undefined && arg !== null && !isTreeNode(arg)) return openAsPerson(deps, toSpec(arg as CreateTunnelArg));
  // A row picked in the tree is the first step's default, never a skipped step.
  const node = liveNode(deps, arg);
  const answers = await createSteps(
    {
      servers: () => deps.servers.list(),
      serverState: (name) => deps.manager.serverStatus(name).state,
      addServer: (typed) => addServerAsked(deps, typed),
      inputs: deps.inputs,
    },
    node && (node.kind === 'server' ? node.name : node.server),
  );
  if (!answers) return undefined;
  return openInteractively(deps, { server: answers.server, ...answers.forward, ...(answers.name ? { name: answers.name } : {}) });
}
