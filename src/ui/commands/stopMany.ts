// Stopping several tunnels at once (Stop All, a server's, Disconnect) says how many and offers
// Undo: each comes back the way it was wanted (a settings or ssh config entry starts again, a
// person's or an agent's tunnel reopens on the ports it had).
import * as vscode from 'vscode';
import { specOf, type OnceSource } from '../../catalogue';
import { errorMessage, plural, type TunnelInfo, type TunnelSpec } from '../../engine';
import type { CommandDeps } from './deps';
import { showError } from './errors';

/** How a stopped tunnel comes back. */
type WayBack = { entry: string; label: string } | { spec: TunnelSpec; origin: OnceSource; label: string };

function wayBack({ catalogue }: CommandDeps, info: TunnelInfo): WayBack {
  const key = catalogue.keyOf(info.id);
  const entry = key === undefined ? undefined : catalogue.get(key);
  if (entry && (entry.source === 'settings' || entry.source === 'sshConfig')) return { entry: entry.key, label: info.name };
  const { openedBy: _origin, ...spec } = specOf(info);
  const origin: OnceSource = entry?.source === 'agent' || info.openedBy === 'agent' ? 'agent' : 'person';
  return { spec, origin, label: info.name };
}

/** Brings back what stopMany stopped; what cannot come back (a port taken meanwhile) is said, each with its way out. */
async function bringBack(deps: CommandDeps, ways: WayBack[], server: string | undefined): Promise<void> {
  if (server) await deps.manager.connectServer(server).catch(() => undefined);
  await Promise.all(
    ways.map(async (way) => {
      try {
        if ('entry' in way) await deps.catalogue.start(way.entry);
        else await deps.catalogue.open(way.spec, way.origin);
      } catch (err) {
        deps.log.warn(`Undo: could not reopen ${way.label}: ${errorMessage(err)}`);
        void showError(deps, err);
      }
    }),
  );
}

export interface StopOptions {
  /** The server they belong to, when it is one server's tunnels (Undo reconnects it first). */
  server?: string;
  /** Close the server's connection too. */
  disconnect?: boolean;
  /** A person is there: say how many and offer Undo. */
  tell: boolean;
}

/** Stops the tunnels (a person's close: a person's are kept as stopped rows, settings entries stay stopped); returns how many. */
export async function stopMany(deps: CommandDeps, tunnels: TunnelInfo[], options: StopOptions): Promise<number> {
  const t = vscode.l10n.t;
  const ways = tunnels.map((info) => wayBack(deps, info));
  await Promise.all(tunnels.map((info) => deps.manager.closeTunnel(info.id, 'person').catch(() => undefined)));
  // With a person there, their own are kept as stopped rows too (Undo, or Start one by one, brings them back).
  if (options.tell) for (const info of tunnels) deps.stopped?.keep(info);
  if (options.disconnect && options.server) await deps.manager.disconnectServer(options.server, 'person');
  deps.log.info(`Stopped ${plural(tunnels.length, 'tunnel')}${options.server ? ` of ${options.server}` : ''}${options.disconnect ? ' and disconnected it' : ''}.`);
  if (options.tell && tunnels.length > 0) {
    const undo = t('Undo');
    const count = tunnels.length === 1 ? t('1 tunnel') : t('{0} tunnels', tunnels.length);
    const message = options.disconnect ? t('Disconnected {0} and stopped its {1}.', options.server!, count)
      : options.server ? t('Stopped {0} of {1}.', count, options.server) : t('Stopped {0}.', count);
    void vscode.window.showInformationMessage(message, undo).then((choice) => {
      if (choice === undo) void bringBack(deps, ways, options.disconnect ? options.server : undefined);
    });
  }
  return tunnels.length;
}
