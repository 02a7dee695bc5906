// SSH Tunnels as a service to the rest of VS Code: the published API for other extensions
// (api/ssh-tunnels.d.ts), the sshTunnel task type, the localPort / localAddress variables for
// launch.json and tasks.json, and links that open a tunnel. All of it holds tunnels through the
// catalogue (src/catalogue/holds.ts), which counts who holds what.
import type * as Published from 'ssh-tunnels-api';
import * as vscode from 'vscode';
import type { TunnelCatalogue } from '../../catalogue';
import type { TunnelManager } from '../../engine';
import type { PeerTunnels } from '../../peers';
import type { ForwardSource } from '../configForwards';
import type { SettingsFeed } from '../settingsFeed';
import type { TunnelTreeProvider } from '../tree';
import { ExtensionAccess, manageExtensionAccess } from './access';
import { API_COMMANDS, TASK_TYPE } from './ids';
import { TunnelLinks } from './links';
import { createPublishedApi, extensionHolder } from './publishedApi';
import { Requests } from './requests';
import { TunnelTaskProvider } from './tasks';
import { listChanges, listTunnels } from './tunnelList';
import { registerVariables } from './variables';

export { ACCESS_BUTTONS, ACCESS_KEY, ExtensionAccess } from './access';
export { API_COMMANDS, PROBLEM_MATCHER, TASK_TYPE } from './ids';

export interface TunnelServiceDeps {
  context: vscode.ExtensionContext;
  manager: TunnelManager;
  servers: ForwardSource;
  catalogue: TunnelCatalogue;
  peers?: PeerTunnels;
  settingsFeed: SettingsFeed;
  tree: TunnelTreeProvider;
  log: vscode.LogOutputChannel;
}

export interface TunnelService {
  /** What other extensions get from activate(). */
  api: Published.SshTunnelsApi;
  /** The person's answers per extension. */
  access: ExtensionAccess;
  links: TunnelLinks;
  disposables: vscode.Disposable[];
}

export function startTunnelService(deps: TunnelServiceDeps): TunnelService {
  const { context, manager, catalogue, peers, log } = deps;
  const requests = new Requests({ manager, servers: deps.servers, catalogue, peers });
  const access = new ExtensionAccess(context.globalState, log);
  const listDeps = { manager, servers: deps.servers, tree: deps.tree, settingsFeed: deps.settingsFeed, catalogue, peers };
  const changes = listChanges(listDeps);
  const api = createPublishedApi({
    selfId: context.extension.id,
    requests,
    access,
    events: { onDidChangeTunnel: manager.onDidChangeTunnel, peers },
    tunnels: () => listTunnels(listDeps),
    onDidChangeTunnels: changes.event,
    log,
  });
  const links = new TunnelLinks({ requests, catalogue, manager, peers, log });
  const disposables = [
    changes.disposable,
    vscode.tasks.registerTaskProvider(TASK_TYPE, new TunnelTaskProvider({ requests, manager, peers, log }, deps.settingsFeed)),
    ...registerVariables({ requests, log }),
    vscode.commands.registerCommand(API_COMMANDS.manageExtensionAccess, (arg?: unknown) =>
      manageExtensionAccess(access, (id) => catalogue.releaseAll(extensionHolder({ id, folder: '' })), arg),
    ),
    vscode.window.registerUriHandler(links),
  ];
  return { api, access, links, disposables };
}
