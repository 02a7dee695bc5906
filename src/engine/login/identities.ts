/** Which keys and agent a login offers, as ssh picks them: the identity files and the agent. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { NextAuthHandler } from 'ssh2';
import { expandHome } from '../base/paths';
import type { ServerConfig } from '../base/types';

/** OpenSSH's default identities, in the order `ssh` tries them. */
const DEFAULT_IDENTITIES = ['id_rsa', 'id_ecdsa', 'id_ecdsa_sk', 'id_ed25519', 'id_ed25519_sk', 'id_dsa'];

export function identityFiles(server: ServerConfig): { files: string[]; explicit: boolean } {
  const given = server.identityFile === undefined ? [] : ([] as string[]).concat(server.identityFile);
  if (given.length) return { files: given.map((p) => expandHome(p)), explicit: true };
  const dir = path.join(os.homedir(), '.ssh');
  return { files: DEFAULT_IDENTITIES.map((f) => path.join(dir, f)).filter((f) => fs.existsSync(f)), explicit: false };
}

/** The agent `ssh` would use: SSH_AUTH_SOCK, or Pageant on Windows when that is unset. */
export function defaultAgent(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string | undefined {
  if (env.SSH_AUTH_SOCK) return env.SSH_AUTH_SOCK;
  return platform === 'win32' ? 'pageant' : undefined;
}

export type NextAuth = Parameters<NextAuthHandler>[0];

export interface KeyCandidate {
  label: string;
  load: () => Buffer | string;
  /** The identity file it was read from, if any. */
  file?: string;
}

