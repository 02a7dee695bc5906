// What the commands' handlers are given: the parts of the window they act on.
import type * as vscode from 'vscode';
import type { TunnelCatalogue } from '../../catalogue';
import type { ServerSource, TunnelManager } from '../../engine';
import type { PeerTunnels } from '../../peers';
import type { TunnelAttributesOfWindow } from '../portAttributes';
import type { VsCodePrompts } from '../prompts';
import type { SettingsFeed } from '../settingsFeed';
import type { StoppedTunnels } from '../stoppedTunnels';
import type { TreeNode, TunnelTreeProvider } from '../tree';

export interface CommandDeps {
  manager: TunnelManager;
  servers: ServerSource;
  settingsFeed: SettingsFeed;
  /** The wanted tunnels and their state, and the front door: creates, restarts and the ssh config's forwards go through it. */
  catalogue: TunnelCatalogue;
  /** The peers' tunnels: Stop and Restart on one of them ask the peer that serves it. */
  peers?: PeerTunnels;
  prompts: VsCodePrompts;
  log: vscode.LogOutputChannel;
  refreshTree: () => void;
  /** The create-tunnel flow's forward and name boxes, and the pick of Forward a Port, while they show (scripts and tests can fill them). */
  inputs: { forward?: vscode.InputBox; name?: vscode.InputBox; ports?: vscode.QuickPick<vscode.QuickPickItem> };
  /** The tunnels' attributes (protocol, onForward) and where pages open. */
  attributes: TunnelAttributesOfWindow;
  /** The tree, to tell a row that is still shown from one that is gone. */
  tree?: TunnelTreeProvider;
  /** The view, whose selected row a keybinding acts on. */
  view?: vscode.TreeView<TreeNode>;
  /** A person's stopped tunnels, kept as rows. */
  stopped?: StoppedTunnels;
}
