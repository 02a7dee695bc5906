// "Edit Server…": a server's usual fields changed without writing JSON, in the sshTunnels.servers
// list in effect (a workspace's replaces the user's). A host of the ssh config gets an entry that
// refines it there, as the settings allow; an empty value takes a field back out.
import * as vscode from 'vscode';
import { validateServerSettings } from '../../config/servers';
import { configuredTarget, TunnelError, type ServerConfig } from '../../engine';
import { appendEntry, listIn, replaceEntry, scopeInEffect, scopeName } from '../settingsWrite';
import type { CommandDeps } from './deps';
import { pickServerName } from './targets';

interface FieldInfo {
  key: 'hostName' | 'user' | 'port' | 'identityFile' | 'proxyJump';
  label: string;
  prompt: string;
  current: (s: ServerConfig | undefined) => string | undefined;
}

function fields(): FieldInfo[] {
  const t = vscode.l10n.t;
  return [
    { key: 'hostName', label: t('Host name'), prompt: t('The address or DNS name to connect to (HostName)'), current: (s) => s?.hostName },
    { key: 'user', label: t('User'), prompt: t('The user to log in as (User); empty: as ssh decides'), current: (s) => s?.user },
    { key: 'port', label: t('Port'), prompt: t('The SSH port (Port); empty: 22'), current: (s) => (s?.port ? String(s.port) : undefined) },
    { key: 'identityFile', label: t('Identity file'), prompt: t('The private key to log in with (IdentityFile), e.g. ~/.ssh/id_ed25519; empty: ssh\'s defaults and the agent'), current: (s) => (Array.isArray(s?.identityFile) ? s.identityFile.join(', ') : (s?.identityFile as string | undefined)) },
    { key: 'proxyJump', label: t('Jump host'), prompt: t('Servers to go through first (ProxyJump), e.g. bastion or deploy@bastion:2222'), current: (s) => s?.proxyJump },
  ];
}

/** The entry for `alias` in one scope's list. */
function entryIn(alias: string, scope: vscode.ConfigurationTarget): Record<string, unknown> | undefined {
  return listIn('servers', scope).find((e): e is Record<string, unknown> => !!e && typeof e === 'object' && (e as { host?: unknown }).host === alias);
}

/** Writes one field of a server where the list in effect is; returns where. */
async function saveField(alias: string, key: FieldInfo['key'], value: string): Promise<vscode.ConfigurationTarget> {
  const scope = scopeInEffect('servers');
  const was = entryIn(alias, scope);
  const entry: Record<string, unknown> = { ...(was ?? { host: alias }) };
  if (value === '') delete entry[key];
  else entry[key] = key === 'port' ? Number(value) : value;
  const checked = validateServerSettings([entry]);
  const problems = [...checked.errors, ...checked.warnings];
  if (problems.length) throw new TunnelError('INVALID_SPEC', problems.join(' '));
  if (was) await replaceEntry('servers', scope, (e) => !!e && typeof e === 'object' && (e as { host?: unknown }).host === alias, entry);
  else await appendEntry('servers', entry, scope);
  return scope;
}

export async function editServer(deps: CommandDeps, arg?: unknown): Promise<void> {
  const t = vscode.l10n.t;
  const alias = await pickServerName(deps, arg, t('Edit which server?'));
  if (!alias) return;
  for (;;) {
    const config = deps.servers.get(alias);
    const scope = scopeInEffect('servers');
    const items: (vscode.QuickPickItem & { field?: FieldInfo; json?: true })[] = fields().map((f) => ({ label: f.label, description: f.current(config) ?? t('(not set)'), field: f }));
    items.push({ label: `$(json) ${t('Edit in settings.json')}`, description: scopeName(scope), json: true });
    const picked = await vscode.window.showQuickPick(items, {
      title: t('Edit server {0}', alias),
      placeHolder: t('{0} — changes are saved to the {1}', config ? configuredTarget(config) : alias, scopeName(scope)),
      ignoreFocusOut: true,
    });
    if (!picked) return;
    if (picked.json) {
      await vscode.commands.executeCommand(scope === vscode.ConfigurationTarget.Global ? 'workbench.action.openSettingsJson' : 'workbench.action.openWorkspaceSettingsFile');
      return;
    }
    const field = picked.field!;
    const value = await vscode.window.showInputBox({
      title: t('{0} of {1}', field.label, alias),
      prompt: field.prompt,
      value: field.current(config) ?? '',
      ignoreFocusOut: true,
      validateInput: (v) => {
        if (field.key === 'hostName' && v.trim() === '') return t('A server needs a host name.');
        if (field.key === 'port' && v.trim() !== '' && !(/^\d+$/.test(v.trim()) && Number(v) >= 1 && Number(v) <= 65535)) return t('A port from 1 to 65535.');
        return undefined;
      },
    });
    if (value === undefined) continue;
    const where = await saveField(alias, field.key, value.trim());
    deps.log.info(`Edited ${field.key} of ${alias} in the ${scopeName(where)}.`);
    // The registry reads the settings as they change; the next round shows the new value.
    await new Promise((r) => setTimeout(r, 50));
  }
}
