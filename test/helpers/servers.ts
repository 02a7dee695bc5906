import type { ServerConfig, ServerSource } from '../../src/engine';

/** A ServerSource over a fixed list, as the config layer would provide. */
export function staticServers(...servers: ServerConfig[]): ServerSource & { add(s: ServerConfig): void } {
  const list = [...servers];
  return {
    list: () => list,
    get: (name) => list.find((s) => s.alias === name),
    add: (s) => list.push(s),
  };
}
