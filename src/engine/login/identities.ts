/** Which identity files a login offers, as ssh picks them (the agent: agentLocation.ts). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { NextAuthHandler } from 'ssh2';
import { expandUserPath, userSshDir } from '../base/paths';
import type { ServerConfig } from '../base/types';

/** OpenSSH's default identities, in the order `ssh` tries them. */
const DEFAULT_IDENTITIES = ['id_rsa', 'id_ecdsa', 'id_ecdsa_sk', 'id_ed25519', 'id_ed25519_sk', 'id_dsa'];

export function identityFiles(server: ServerConfig): { files: string[]; explicit: boolean } {
  const given = server.identityFile === undefined ? [] : ([] as string[]).concat(server.identityFile);
  if (given.length) return { files: given.map((p) => expandUserPath(p)), explicit: true };
  const dir = userSshDir();
  return { files: DEFAULT_IDENTITIES.map((f) => path.join(dir, f)).filter((f) => fs.existsSync(f)), explicit: false };
}

export type NextAuth = Parameters<NextAuthHandler>[0];

export interface KeyCandidate {
  label: string;
  load: () => Buffer | string;
  /** The identity file it was read from, if any. */
  file?: string;
}

