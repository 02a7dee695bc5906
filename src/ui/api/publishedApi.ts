// The object other extensions get from activate(): version 1 of api/ssh-tunnels.d.ts. Every open
// names its caller (from the call's stack), is refused in Restricted Mode, follows the agents'
// loopback rule, asks the person the first time, and goes through the catalogue's holds.
import type * as Published from 'ssh-tunnels-api';
import * as vscode from 'vscode';
import { errorMessage } from '../../engine';
import { extensionLabel, type ExtensionAccess } from './access';
import { callerOf, currentStack, type ExtensionFolder } from './caller';
import { apiError, SshTunnelsError } from './errors';
import { createHandle, type HandleEvents } from './handles';
import type { Requests } from './requests';

export interface PublishedApiDeps {
  /** This extension's id: its own frames are not the caller's. */
  selfId: string;
  requests: Requests;
  access: ExtensionAccess;
  events: HandleEvents;
  tunnels(): Published.TunnelSummary[];
  onDidChangeTunnels: vscode.Event<void>;
  log: vscode.LogOutputChannel;
}

/** The holder's name in the catalogue (and the tree) for an extension's handles. */
export function extensionHolder(caller: ExtensionFolder | undefined): string {
  return `extension ${caller?.id ?? '(unidentified)'}`;
}

/** The installed extensions, as callerOf reads them. */
function installed(): ExtensionFolder[] {
  return vscode.extensions.all.map((e) => ({ id: e.id, folder: e.extensionPath, displayName: (e.packageJSON as { displayName?: string }).displayName }));
}

export function createPublishedApi(deps: PublishedApiDeps): Published.SshTunnelsApi {
  const open = async (caller: ExtensionFolder | undefined, request: Published.TunnelRequest): Promise<Published.TunnelHandle> => {
    const label = extensionLabel(caller);
    try {
      if (!vscode.workspace.isTrusted) {
        // What a cloned repository's code could make another extension do must not open tunnels.
        throw new SshTunnelsError('NOT_ALLOWED', 'SSH Tunnels opens no tunnels for other extensions in Restricted Mode: the workspace must be trusted first (Manage Workspace Trust).');
      }
      const target = deps.requests.parse(request, 'openTunnel', { loopback: true });
      await deps.access.check(caller, deps.requests.describe(target, vscode.l10n.t('The extension {0}', label)));
      const hold = await deps.requests.hold(target, extensionHolder(caller));
      return createHandle(hold, deps.events);
    } catch (err) {
      const error = apiError(err);
      deps.log.warn(`openTunnel from ${label}: ${error.code}: ${errorMessage(error)}`);
      throw error;
    }
  };
  return {
    version: 1,
    // Not async: the caller is read from the stack of the call itself, before any await.
    openTunnel: (request) => open(callerOf(currentStack(), installed(), deps.selfId), request),
    tunnels: () => deps.tunnels(),
    onDidChangeTunnels: deps.onDidChangeTunnels,
  };
}
