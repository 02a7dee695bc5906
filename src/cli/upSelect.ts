// Which tunnels `up` opens: the forwards given (-L, -R, -D with --server), the tunnels of the
// settings named, else those with "autoStart" (or all with --all).
import { parseForward } from '../config/forwardSpec';
import type { ConfiguredTunnel } from '../config/tunnelSettings';
import type { TunnelSpec } from '../engine';
import { didYouMean, UsageError } from './args';

/** Which tunnels the command line asks for. */
export function selectTunnels(configured: readonly ConfiguredTunnel[], names: string[], all: boolean, server: string | undefined, forwards: string[], settingsFile: string): { spec: TunnelSpec; key?: string }[] {
  const specs: { spec: TunnelSpec; key?: string }[] = [];
  if (forwards.length > 0) {
    if (!server) throw new UsageError(`A forward needs its server: ssh-tunnels up --server NAME ${forwards[0]}`);
    for (const text of forwards) {
      const parsed = parseForward(text);
      if (!parsed.ok) throw new UsageError(`${text}: ${parsed.error}`);
      specs.push({ spec: { server, ...parsed.forward, openedBy: 'person' } });
    }
  } else if (server) {
    throw new UsageError('--server names the server of -L, -R or -D forwards; give at least one, e.g. ssh-tunnels up --server db -L 5432:localhost:5432');
  }
  const known = configured.map((t) => t.spec.name).filter((n): n is string => n !== undefined);
  for (const name of names) {
    const t = configured.find((c) => c.spec.name === name);
    if (!t) {
      throw new UsageError(
        `No tunnel named ${JSON.stringify(name)}${didYouMean(name, known)} in ${settingsFile}. ${known.length ? `Named tunnels: ${known.join(', ')}.` : 'Its sshTunnels.tunnels has no named tunnel.'}`,
      );
    }
    specs.push({ spec: { ...t.spec, openedBy: 'settings' }, key: t.key });
  }
  if (names.length === 0 && forwards.length === 0) {
    const chosen = configured.filter((t) => all || t.autoStart);
    if (chosen.length === 0) {
      throw new UsageError(
        configured.length === 0
          ? `${settingsFile} defines no tunnels (sshTunnels.tunnels). Give a forward instead: ssh-tunnels up --server NAME -L 8080:localhost:80`
          : `${configured.length === 1 ? 'The tunnel' : `None of the ${configured.length} tunnels`} in ${settingsFile} ${configured.length === 1 ? 'does not have' : 'has'} "autoStart": true. Name the ones to open${known.length ? ` (${known.join(', ')})` : ''}, or use --all.`,
      );
    }
    specs.push(...chosen.map((t) => ({ spec: { ...t.spec, openedBy: 'settings' as const }, key: t.key })));
  }
  return specs;
}
