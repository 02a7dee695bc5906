import { utils, type ParsedKey } from 'ssh2';
import type { Prompts, ServerConfig } from '../base/types';
import { certifiedKey } from '../ssh2';
import { isPpk, PpkError, ppkToOpenSsh } from './ppk';

/** Tries at a key's passphrase, as ssh allows (its NumberOfPasswordPrompts default). */
export const PASSPHRASE_TRIES = 3;

/**
 * What a person typed, kept in memory for the program's life: a redial (sshd restarted, the
 * network back) must not stop the traffic until someone types the passphrase again.
 * Never written anywhere; VS Code's optional SecretStorage is the prompts' business.
 */
export class RememberedSecrets {
  /** Decrypted keys, by server and key file. */
  private readonly keys = new Map<string, ParsedKey>();
  /** Passwords the server has not refused, by user and server. */
  private readonly passwords = new Map<string, string>();

  key(server: string, keyPath: string): ParsedKey | undefined {
    return this.keys.get(`${server}\0${keyPath}`);
  }

  rememberKey(server: string, keyPath: string, key: ParsedKey): void {
    this.keys.set(`${server}\0${keyPath}`, key);
  }

  password(server: string, user: string): string | undefined {
    return this.passwords.get(`${user}@${server}`);
  }

  rememberPassword(server: string, user: string, password: string): void {
    this.passwords.set(`${user}@${server}`, password);
  }

  forgetPassword(server: string, user: string): void {
    this.passwords.delete(`${user}@${server}`);
  }

  /** Forgets what was kept for one server, or for all. */
  forget(server?: string): void {
    for (const id of [...this.keys.keys()]) if (server === undefined || id.startsWith(`${server}\0`)) this.keys.delete(id);
    for (const id of [...this.passwords.keys()]) if (server === undefined || id.endsWith(`@${server}`)) this.passwords.delete(id);
  }
}

/**
 * What Apple's ssh users know for a key whose passphrase the macOS Keychain keeps (UseKeychain):
 * ssh-add loads such keys into the agent, which a login asks before the key files.
 */
export function keychainHint(keyPath: string): string {
  return `The passphrase of ${keyPath} may be in your macOS Keychain (UseKeychain yes): run ssh-add --apple-load-keychain in a terminal to load the key into ssh-agent, or type the passphrase here.`;
}

/** Why a key file could not be read with a passphrase; `passphrase` when a (right) passphrase would help. */
interface KeyProblem {
  problem: string;
  passphrase: boolean;
}

/** A key file's contents (OpenSSH, PEM or PuTTY's .ppk) read with a passphrase, or why not. */
async function readKey(raw: Buffer | string, passphrase: string | undefined): Promise<ParsedKey | KeyProblem> {
  if (isPpk(raw)) {
    let ppk;
    try {
      ppk = await ppkToOpenSsh(raw, passphrase);
    } catch (err) {
      if (!(err instanceof PpkError)) throw err;
      return { problem: err.message, passphrase: err.kind === 'needs-passphrase' || err.kind === 'wrong-passphrase' };
    }
    const key = utils.parseKey(ppk.openssh);
    if (key instanceof Error) return { problem: `a PuTTY key file whose key cannot be used: ${key.message}`, passphrase: false };
    return ppk.certificate ? certifiedKey(key as ParsedKey, ppk.certificate) : (key as ParsedKey);
  }
  const key = utils.parseKey(raw, passphrase);
  if (key instanceof Error) return { problem: key.message, passphrase: /passphrase|encrypted/i.test(key.message) };
  return key as ParsedKey;
}

function isProblem(key: ParsedKey | KeyProblem): key is KeyProblem {
  return typeof (key as KeyProblem).problem === 'string';
}

/**
 * A key file's contents made usable: parsed, or decrypted with the configured passphrase, one
 * kept from earlier in this run, or one asked for (up to three tries, each wrong one said).
 * Returns the key, or why it cannot be used (for the final error's "Tried:" list).
 */
export async function unlockKey(
  raw: Buffer | string,
  server: ServerConfig,
  keyPath: string,
  prompts: Prompts | undefined,
  memory: RememberedSecrets,
  platform: NodeJS.Platform = process.platform,
): Promise<ParsedKey | string> {
  const key = await readKey(raw, server.passphrase);
  if (!isProblem(key)) return key;
  if (!key.passphrase || server.passphrase !== undefined) return key.problem;
  const kept = memory.key(server.alias, keyPath);
  if (kept) return kept;
  // Apple's ssh takes the passphrase from the Keychain; here the agent is the way to it.
  const keychain = server.useKeychain === true && platform === 'darwin';
  if (!prompts?.passphrase) {
    return keychain ? 'needs a passphrase, which may be in your macOS Keychain: run ssh-add --apple-load-keychain to load the key into ssh-agent' : 'needs a passphrase and nothing can ask for it';
  }
  let retry = keychain ? keychainHint(keyPath) : undefined;
  for (let tries = 1; tries <= PASSPHRASE_TRIES; tries++) {
    // Called as a method: a prompts object may rely on `this`.
    const passphrase = await prompts.passphrase(server.alias, keyPath, retry);
    if (passphrase === undefined) return 'needs a passphrase';
    const unlocked = await readKey(raw, passphrase);
    if (!isProblem(unlocked)) {
      memory.rememberKey(server.alias, keyPath, unlocked);
      return unlocked;
    }
    if (!unlocked.passphrase) return unlocked.problem;
    retry = `Wrong passphrase for ${keyPath} (try ${tries} of ${PASSPHRASE_TRIES}); try again.`;
  }
  return `wrong passphrase, ${PASSPHRASE_TRIES} tries`;
}
