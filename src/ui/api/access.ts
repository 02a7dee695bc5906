// The person's answer to "may this extension open SSH tunnels?": asked the first time an extension
// opens one, naming it and what it wants to open; remembered per extension in the global state
// until the person takes it back (Manage Extension Access).
import * as vscode from 'vscode';
import type { ExtensionFolder } from './caller';
import { SshTunnelsError } from './errors';

/** The globalState key: extension id → the person's answer. */
export const ACCESS_KEY = 'sshTunnels.extensionAccess';

export interface AccessAnswer {
  allowed: boolean;
  /** The extension's display name when it was answered. */
  name: string;
  /** When (ms since the epoch). */
  at: number;
}

/** The words of the question's buttons (the tests click them by name). */
export const ACCESS_BUTTONS = { allow: vscode.l10n.t('Allow'), deny: vscode.l10n.t('Don\'t Allow') };

export function extensionLabel(caller: ExtensionFolder | undefined): string {
  if (!caller) return vscode.l10n.t('An extension SSH Tunnels cannot identify');
  return caller.displayName && caller.displayName !== caller.id ? `${caller.displayName} (${caller.id})` : caller.id;
}

export class ExtensionAccess {
  /** Questions showing, by extension id: a second open waits for the same answer. */
  private readonly asking = new Map<string, Promise<boolean | undefined>>();

  constructor(
    private readonly state: vscode.Memento,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  answers(): Record<string, AccessAnswer> {
    const value = this.state.get<unknown>(ACCESS_KEY);
    return value && typeof value === 'object' ? (value as Record<string, AccessAnswer>) : {};
  }

  /**
   * Resolves when `caller` may open tunnels; rejects with NOT_ALLOWED when the person said no.
   * The first time, the person is asked, with `what` (what it wants to open) in the question. An
   * extension that cannot be identified is asked about every time, and nothing is remembered.
   */
  async check(caller: ExtensionFolder | undefined, what: string): Promise<void> {
    const known = caller && this.answers()[caller.id];
    if (known) {
      if (known.allowed) return;
      throw this.refusal(caller, true);
    }
    const id = caller?.id ?? '';
    let pending = caller ? this.asking.get(id) : undefined;
    if (!pending) {
      pending = this.ask(caller, what);
      if (caller) {
        this.asking.set(id, pending);
        void pending.finally(() => this.asking.delete(id));
      }
    }
    const allowed = await pending;
    if (!allowed) throw this.refusal(caller, allowed === false);
  }

  /** Asks; resolves true (allowed), false (not allowed, remembered) or undefined (dismissed: asked again next time). */
  private async ask(caller: ExtensionFolder | undefined, what: string): Promise<boolean | undefined> {
    const t = vscode.l10n.t;
    const label = extensionLabel(caller);
    const detail = caller
      ? t('{0}\n\nIf you allow it, {1} may open and use SSH tunnels through your servers from now on without asking again (never in Restricted Mode, and on loopback addresses only unless you allowed more). "SSH Tunnels: Manage Extension Access" takes it back.', what, label)
      : t('{0}\n\nSSH Tunnels could not tell which extension asks, so it will ask you each time.', what);
    const choice = await vscode.window.showWarningMessage(
      caller ? t('Allow the extension {0} to open SSH tunnels?', caller.displayName ?? caller.id) : t('Allow an extension to open an SSH tunnel?'),
      { modal: true, detail },
      ACCESS_BUTTONS.allow,
      ACCESS_BUTTONS.deny,
    );
    const allowed = choice === ACCESS_BUTTONS.allow ? true : choice === ACCESS_BUTTONS.deny ? false : undefined;
    this.log.info(`Extension access: ${label} ${allowed ? 'allowed' : allowed === false ? 'not allowed' : 'not answered (asked again next time)'}.`);
    if (caller && allowed !== undefined) await this.remember(caller, allowed);
    return allowed;
  }

  private async remember(caller: ExtensionFolder, allowed: boolean): Promise<void> {
    await this.state.update(ACCESS_KEY, { ...this.answers(), [caller.id]: { allowed, name: caller.displayName ?? caller.id, at: Date.now() } satisfies AccessAnswer });
  }

  /** Forgets the answer for an extension: it is asked again the next time. */
  async forget(id: string): Promise<boolean> {
    const all = this.answers();
    if (!(id in all)) return false;
    delete all[id];
    await this.state.update(ACCESS_KEY, Object.keys(all).length ? all : undefined);
    this.log.info(`Extension access: forgot the answer for ${id}; it will be asked again.`);
    return true;
  }

  private refusal(caller: ExtensionFolder | undefined, remembered: boolean): SshTunnelsError {
    const label = extensionLabel(caller);
    return new SshTunnelsError(
      'NOT_ALLOWED',
      remembered
        ? `The person did not allow ${label} to open SSH tunnels (they can change that with the command "SSH Tunnels: Manage Extension Access").`
        : `The person did not answer whether ${label} may open SSH tunnels; nothing was opened.`,
    );
  }
}

/**
 * "SSH Tunnels: Manage Extension Access": the remembered answers, to forget (the extension is asked
 * again next time, and what it holds is let go of). With `{ forget: id }`, that one without asking.
 * Resolves with the ids forgotten.
 */
export async function manageExtensionAccess(access: ExtensionAccess, letGo: (id: string) => Promise<number>, arg?: unknown): Promise<string[]> {
  const t = vscode.l10n.t;
  let ids: string[];
  const forget = arg && typeof arg === 'object' ? (arg as { forget?: unknown }).forget : undefined;
  if (typeof forget === 'string') {
    ids = [forget];
  } else {
    const answers = Object.entries(access.answers());
    if (!answers.length) {
      void vscode.window.showInformationMessage(t('No extension has asked to open SSH tunnels yet.'));
      return [];
    }
    const items = answers.map(([id, a]) => ({
      id,
      label: a.name,
      description: id,
      detail: a.allowed ? t('Allowed to open SSH tunnels ({0})', new Date(a.at).toLocaleString()) : t('Not allowed to open SSH tunnels ({0})', new Date(a.at).toLocaleString()),
    }));
    const picked = await vscode.window.showQuickPick(items, {
      canPickMany: true,
      title: t('Extensions\' access to SSH tunnels'),
      placeHolder: t('Pick the answers to forget: those extensions are asked again next time, and the tunnels they hold are let go of'),
    });
    ids = picked?.map((i) => i.id) ?? [];
  }
  const forgotten: string[] = [];
  for (const id of ids) {
    if (await access.forget(id)) forgotten.push(id);
    await letGo(id);
  }
  return forgotten;
}
