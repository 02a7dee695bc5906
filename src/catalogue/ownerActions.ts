// What a process without a UI (`ssh-tunnels up`, `ssh-tunnels mcp`) does when a peer (another
// process of the same person) asks it to close or restart one of its tunnels: the same as its own
// person would.
import { TunnelError, type TunnelInfo, type TunnelManager, type TunnelSpec } from '../engine';
import type { OwnerActions } from '../peers';
import { FrontDoor, servedByPeerError, type TunnelDoor } from './frontDoor';

/** The spec that opens the same tunnel again, on the ports it has bound. */
export function specOf(info: TunnelInfo): TunnelSpec {
  return {
    server: info.server,
    type: info.type,
    localHost: info.localHost,
    localPort: info.localPort,
    ...(info.type !== 'dynamic' && info.remotePath === undefined ? { remoteHost: info.remoteHost, remotePort: info.remotePort } : {}),
    ...(info.localPath !== undefined ? { localPath: info.localPath } : {}),
    ...(info.remotePath !== undefined ? { remotePath: info.remotePath } : {}),
    ...(info.socks ? { socks: true } : {}),
    ...(info.watchRemotePort ? { watchRemotePort: true } : {}),
    ...(info.nameGiven ? { name: info.name } : {}),
    openedBy: info.openedBy,
  };
}

export interface ManagerActionsOptions {
  /** The door a restart reopens through (default: one over the manager alone, with no peers). */
  door?: TunnelDoor;
  settingsKey?(tunnelId: string): string | undefined;
  /** Told after a restart replaced `oldId` with `info`. */
  restarted?(oldId: string, info: TunnelInfo): void;
}

export function managerActions(manager: TunnelManager, options: ManagerActionsOptions = {}): OwnerActions {
  const door = options.door ?? new FrontDoor(manager);
  return {
    close: (tunnelId) => manager.closeTunnel(tunnelId),
    async restart(tunnelId) {
      const info = manager.getTunnel(tunnelId);
      if (!info) throw new TunnelError('INVALID_SPEC', `No open tunnel has id ${JSON.stringify(tunnelId)}.`);
      const spec = specOf(info);
      await manager.closeTunnel(tunnelId, 'replaced');
      const opened = await door.open(spec, info.openedBy);
      if (opened.peer) throw servedByPeerError(opened.peer);
      options.restarted?.(tunnelId, opened.here);
      return opened.here;
    },
    ...(options.settingsKey ? { settingsKey: options.settingsKey } : {}),
  };
}
