// A TunnelHandle of the published API over a catalogue hold: its fields read the tunnel as it is
// now (a restart moves it, a close ends it), and its state changes are told as they happen.
import type * as Published from 'ssh-tunnels-api';
import * as vscode from 'vscode';
import type { HeldTunnel, Hold } from '../../catalogue';
import { DisposableStore, type Event, type TunnelInfo } from '../../engine';
import { describePeer, type PeerTunnels } from '../../peers';
import { connectHost } from '../../tools';

/** Where a handle hears of changes: this window's tunnels and the peers'. */
export interface HandleEvents {
  onDidChangeTunnel: Event<TunnelInfo>;
  peers?: PeerTunnels;
}

/** The id the view and the agent tools give a tunnel: its own here, `<peer>/<id>` at a peer. */
export function tunnelId(t: HeldTunnel): string {
  return t.peer ? `${t.peer.id}/${t.info.id}` : t.info.id;
}

/** The published fields of a tunnel, from its TunnelInfo. */
export function publishedFields(t: HeldTunnel): Omit<Published.TunnelHandle, 'onDidChangeState' | 'dispose'> {
  const { info } = t;
  return {
    id: tunnelId(t),
    name: info.name,
    server: info.server,
    type: info.type,
    localHost: info.type === 'remote' ? info.localHost : connectHost(info.localHost),
    localPort: info.localPort,
    ...(info.localPath !== undefined ? { localPath: info.localPath } : {}),
    ...(info.remoteHost !== undefined && info.remotePath === undefined ? { remoteHost: info.remoteHost } : {}),
    ...(info.remotePort !== undefined && info.type !== 'dynamic' && info.remotePath === undefined ? { remotePort: info.remotePort } : {}),
    ...(info.remotePath !== undefined ? { remotePath: info.remotePath } : {}),
    state: info.state,
    ...(t.peer ? { servedBy: describePeer(t.peer) } : {}),
  };
}

export function createHandle(hold: Hold, events: HandleEvents): Published.TunnelHandle {
  // The last known tunnel: what a handle says once its tunnel is gone (with state closed).
  let last = hold.opened;
  const now = (): HeldTunnel => {
    const current = hold.current();
    if (current) last = current;
    return current ?? { ...last, info: { ...last.info, state: 'closed' } };
  };
  const stateChanged = new vscode.EventEmitter<Published.TunnelState>();
  const listening = new DisposableStore();
  let told: Published.TunnelState = hold.opened.info.state;
  const follow = () => {
    const state = now().info.state;
    if (state === told) return;
    told = state;
    stateChanged.fire(state);
    if (state === 'closed') listening.dispose();
  };
  // Only this handle's tunnel here (a restart moves it), or the peers' list when a peer serves it.
  listening.add(events.onDidChangeTunnel((info) => info.id === hold.at.here && follow()));
  if (events.peers) listening.add(events.peers.onDidChange(() => hold.at.peer !== undefined && follow()));
  listening.add(hold.onDidMove(follow));
  listening.add(stateChanged);
  // Let go of some other way (the person took the extension's access back): closed for this handle.
  void hold.whenReleased.then(follow);

  const handle = {
    get onDidChangeState() {
      return stateChanged.event;
    },
    async dispose() {
      await hold.release();
      follow();
      listening.dispose();
    },
  } as Published.TunnelHandle;
  for (const field of ['id', 'name', 'server', 'type', 'localHost', 'localPort', 'localPath', 'remoteHost', 'remotePort', 'remotePath', 'state', 'servedBy'] as const) {
    Object.defineProperty(handle, field, { enumerable: true, get: () => publishedFields(now())[field] });
  }
  return handle;
}
