// tunnels() of the published API: the list the SSH Tunnels view shows (open here, served by the
// person's other processes, stopped ones of the settings and of ~/.ssh/config), read from the tree
// itself so the two never disagree; onDidChangeTunnels fires when that list changes.
import type * as Published from 'ssh-tunnels-api';
import * as vscode from 'vscode';
import { DisposableStore, type TunnelManager, type TunnelSpec } from '../../engine';
import type { TunnelCatalogue } from '../../catalogue';
import type { PeerTunnels } from '../../peers';
import { CONFIG_FORWARD_PREFIX, configForwards, type ForwardSource } from '../configForwards';
import type { SettingsFeed } from '../settingsFeed';
import { configuredDescription, type TreeNode, type TunnelTreeProvider } from '../tree';
import { publishedFields } from './handles';

export interface TunnelListDeps {
  manager: TunnelManager;
  servers: ForwardSource;
  tree: TunnelTreeProvider;
  settingsFeed: SettingsFeed;
  catalogue: TunnelCatalogue;
  peers?: PeerTunnels;
}

function stopped(spec: TunnelSpec, openedBy: 'settings' | 'sshConfig'): Published.TunnelSummary {
  return {
    name: spec.name ?? configuredDescription(spec),
    server: spec.server,
    type: spec.type,
    state: 'stopped',
    ...(spec.localPath !== undefined ? { localPath: spec.localPath } : { localHost: spec.localHost ?? '127.0.0.1', localPort: spec.localPort }),
    ...(spec.remotePath !== undefined ? { remotePath: spec.remotePath } : spec.type === 'dynamic' ? {} : { remoteHost: spec.remoteHost, remotePort: spec.remotePort }),
    openedBy,
  };
}

/** The view's list, one summary per item under each server, in the view's order. */
export function listTunnels(deps: TunnelListDeps): Published.TunnelSummary[] {
  const out: Published.TunnelSummary[] = [];
  const add = (node: TreeNode) => {
    if (node.kind === 'tunnel') {
      const info = deps.manager.getTunnel(node.id);
      if (info) out.push({ ...publishedFields({ info }), openedBy: info.openedBy });
    } else if (node.kind === 'elsewhere') {
      const served = deps.peers?.list(node.server).find((t) => t.peer.id === node.peerId && t.info.id === node.id);
      if (served) out.push({ ...publishedFields({ info: served.info, peer: served.peer }), openedBy: served.info.openedBy });
    } else if (node.kind === 'configured') {
      if (node.key.startsWith(CONFIG_FORWARD_PREFIX)) {
        const forward = configForwards(deps.servers, node.server).find((f) => f.key === node.key);
        if (forward) out.push(stopped(forward.spec, 'sshConfig'));
      } else {
        const entry = deps.settingsFeed.configured().find((c) => c.key === node.key);
        if (entry) out.push(stopped(entry.spec, 'settings'));
      }
    }
  };
  for (const server of deps.tree.getChildren()) for (const node of deps.tree.getChildren(server)) add(node);
  return out;
}

/** What a change must alter to be told: the items, their states and addresses (not their traffic). */
function signature(list: readonly Published.TunnelSummary[]): string {
  return JSON.stringify(list.map((t) => [t.id, t.name, t.server, t.state, t.localHost, t.localPort, t.localPath, t.remoteHost, t.remotePort, t.remotePath, t.servedBy]));
}

/** Fires (at most every 100 ms) when the view's list changed. */
export function listChanges(deps: TunnelListDeps): { event: vscode.Event<void>; disposable: vscode.Disposable } {
  const emitter = new vscode.EventEmitter<void>();
  const store = new DisposableStore();
  let last = signature(listTunnels(deps));
  let timer: NodeJS.Timeout | undefined;
  const check = () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      const now = signature(listTunnels(deps));
      if (now === last) return;
      last = now;
      emitter.fire();
    }, 100);
  };
  store.add(deps.manager.onDidChangeTunnel(check));
  store.add(deps.catalogue.onDidChange(check));
  if (deps.peers) store.add(deps.peers.onDidChange(check));
  store.add(emitter);
  store.add({ dispose: () => timer && clearTimeout(timer) });
  return { event: emitter.event, disposable: store };
}
