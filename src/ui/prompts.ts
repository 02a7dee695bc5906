// The engine's Prompts answered by a person: password boxes for secrets, a modal for host keys.
// Secrets may be remembered in SecretStorage per server; they never reach settings or the log.
import * as vscode from 'vscode';
import type { HostKeyAnswer, HostKeyQuestion, Prompts } from '../engine';

/** A touch notification of a security key: `key` as ssh names it (`ED25519-SK SHA256:…`). */
export interface TouchNotice {
  server: string;
  key: string;
  dismissed: boolean;
}

const SECRET_PREFIX = 'sshTunnels.secret';
const INDEX_KEY = 'sshTunnels.secretKeys';

export class VsCodePrompts implements Prompts, vscode.Disposable {
  private readonly _onDidAnswerHostKey = new vscode.EventEmitter<HostKeyQuestion & { answer: HostKeyAnswer }>();
  /** Fires with each host key question and its answer (fingerprints are public; no secrets). */
  readonly onDidAnswerHostKey = this._onDidAnswerHostKey.event;
  private readonly _onDidAskTouch = new vscode.EventEmitter<TouchNotice>();
  /** Fires as a touch of a security key is asked for, and again (dismissed) as its notification closes. */
  readonly onDidAskTouch = this._onDidAskTouch.event;
  /** Saved secrets already handed out once in this run: if asked again they failed, so ask the person. */
  private readonly usedSaved = new Set<string>();

  constructor(
    private readonly secrets: vscode.SecretStorage,
    private readonly state: vscode.Memento,
    private readonly log: vscode.LogOutputChannel,
  ) {
    // The engine may call these detached from the object.
    this.password = this.password.bind(this);
    this.passphrase = this.passphrase.bind(this);
    this.keyboardInteractive = this.keyboardInteractive.bind(this);
    this.hostKey = this.hostKey.bind(this);
    this.touchKey = this.touchKey.bind(this);
  }

  /** A notification while a security key signs, closed when the signing ends (signed, refused or failed). */
  touchKey(server: string, key: string): () => void {
    let close!: () => void;
    const signed = new Promise<void>((resolve) => (close = resolve));
    this.log.info(`Confirm user presence for key ${key} (${server})`);
    void vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('SSH Tunnels: touch your security key to log in to {0} ({1})', server, key) },
      () => signed,
    );
    this._onDidAskTouch.fire({ server, key, dismissed: false });
    let done = false;
    return () => {
      if (done) return;
      done = true;
      close();
      this._onDidAskTouch.fire({ server, key, dismissed: true });
    };
  }

  private secretKey(server: string, kind: string): string {
    return `${SECRET_PREFIX}/${server}/${kind}`;
  }

  private async saved(key: string): Promise<string | undefined> {
    if (this.usedSaved.has(key)) {
      // The saved answer was wrong (the server asked again): drop it.
      this.usedSaved.delete(key);
      await this.secrets.delete(key);
      await this.forgetKey(key);
      this.log.warn(`A saved secret was refused; it has been forgotten (${key.split('/').slice(1).join(' ')}).`);
      return undefined;
    }
    const value = await this.secrets.get(key);
    if (value !== undefined) this.usedSaved.add(key);
    return value;
  }

  private async rememberKey(key: string): Promise<void> {
    const keys = new Set(this.state.get<string[]>(INDEX_KEY, []));
    keys.add(key);
    await this.state.update(INDEX_KEY, [...keys]);
  }

  private async forgetKey(key: string): Promise<void> {
    await this.state.update(INDEX_KEY, this.state.get<string[]>(INDEX_KEY, []).filter((k) => k !== key));
  }

  /** Asks for a secret, offering to remember it for this server. */
  private async askSecret(key: string, title: string, prompt: string): Promise<string | undefined> {
    const stored = await this.saved(key);
    if (stored !== undefined) return stored;
    const remember = vscode.l10n.t('Remember for this server');
    const box = vscode.window.createInputBox();
    box.title = title;
    box.prompt = prompt;
    box.password = true;
    box.ignoreFocusOut = true;
    const rememberButton: vscode.QuickInputButton = { iconPath: new vscode.ThemeIcon('save'), tooltip: remember };
    let save = false;
    box.buttons = [rememberButton];
    return new Promise<string | undefined>((resolve) => {
      let done = false;
      const finish = (value: string | undefined) => {
        if (done) return;
        done = true;
        box.dispose();
        resolve(value);
      };
      box.onDidTriggerButton(() => {
        save = !save;
        box.prompt = save ? `${prompt} — ${vscode.l10n.t('will be remembered (SecretStorage)')}` : prompt;
        box.buttons = [{ iconPath: new vscode.ThemeIcon(save ? 'pass-filled' : 'save'), tooltip: remember }];
      });
      box.onDidAccept(async () => {
        const value = box.value;
        if (save) {
          await this.secrets.store(key, value);
          await this.rememberKey(key);
          this.usedSaved.add(key);
        }
        finish(value);
      });
      box.onDidHide(() => finish(undefined));
      box.show();
    });
  }

  password(server: string, user: string): Promise<string | undefined> {
    return this.askSecret(
      this.secretKey(server, 'password'),
      vscode.l10n.t('SSH Tunnels: {0}', server),
      vscode.l10n.t('Password for {0} on {1}', user, server),
    );
  }

  passphrase(server: string, keyPath: string, retry?: string): Promise<string | undefined> {
    const prompt = vscode.l10n.t('Passphrase for the key {0}', keyPath);
    return this.askSecret(
      this.secretKey(server, `passphrase:${keyPath}`),
      vscode.l10n.t('SSH Tunnels: {0}', server),
      retry ? `${retry} ${prompt}` : prompt,
    );
  }

  async keyboardInteractive(
    server: string,
    name: string,
    instructions: string,
    prompts: { prompt: string; echo: boolean }[],
  ): Promise<string[] | undefined> {
    const answers: string[] = [];
    for (const [i, p] of prompts.entries()) {
      const title = [vscode.l10n.t('SSH Tunnels: {0}', server), name].filter(Boolean).join(' — ');
      const text = [instructions, p.prompt].filter(Boolean).join(' ');
      // A single hidden password-like question may be remembered; one-time codes must not be.
      if (prompts.length === 1 && !p.echo && /password/i.test(p.prompt)) {
        const answer = await this.askSecret(this.secretKey(server, 'password'), title, text);
        if (answer === undefined) return undefined;
        answers.push(answer);
        continue;
      }
      const answer = await vscode.window.showInputBox({
        title: prompts.length > 1 ? `${title} (${i + 1}/${prompts.length})` : title,
        prompt: text,
        password: !p.echo,
        ignoreFocusOut: true,
      });
      if (answer === undefined) return undefined;
      answers.push(answer);
    }
    return answers;
  }

  async hostKey(q: HostKeyQuestion): Promise<HostKeyAnswer> {
    const remember = vscode.l10n.t('Trust and remember');
    const once = vscode.l10n.t('Trust once');
    const where = q.port === 22 ? q.host : `${q.host}:${q.port}`;
    let choice: string | undefined;
    try {
      choice = await vscode.window.showWarningMessage(
        vscode.l10n.t('The authenticity of {0} ({1}) cannot be established.', q.server, where),
        {
          modal: true,
          detail: vscode.l10n.t(
            '{0} key fingerprint is {1}.\nCompare it with the fingerprint the server\'s administrator gave you before trusting it. "Trust and remember" adds it to known_hosts.',
            q.keyType,
            q.fingerprint,
          ),
        },
        remember,
        once,
      );
    } catch (err) {
      // No dialog could be shown (e.g. no window): never trust a key nobody looked at.
      this.log.warn(`Could not ask about the host key of ${q.server}: ${err instanceof Error ? err.message : String(err)}`);
    }
    const answer: HostKeyAnswer = choice === remember ? 'trust-remember' : choice === once ? 'trust-once' : 'reject';
    this.log.info(`Host key of ${q.server} (${q.keyType} ${q.fingerprint}): ${answer}`);
    this._onDidAnswerHostKey.fire({ ...q, answer });
    return answer;
  }

  /** Forgets saved secrets of one server, or of all servers. Returns how many were removed. */
  async forget(server?: string): Promise<number> {
    const keys = this.state.get<string[]>(INDEX_KEY, []);
    const doomed = keys.filter((k) => server === undefined || k.startsWith(`${SECRET_PREFIX}/${server}/`));
    for (const key of doomed) {
      await this.secrets.delete(key);
      this.usedSaved.delete(key);
    }
    await this.state.update(INDEX_KEY, keys.filter((k) => !doomed.includes(k)));
    return doomed.length;
  }

  /** Servers that have saved secrets (names only). */
  serversWithSecrets(): string[] {
    const names = this.state.get<string[]>(INDEX_KEY, []).map((k) => k.slice(SECRET_PREFIX.length + 1).split('/')[0]);
    return [...new Set(names)];
  }

  /** A server connected: the saved secrets it used were right, so a later ask (reconnect) may reuse them. */
  connected(server: string): void {
    for (const key of [...this.usedSaved]) if (key.startsWith(`${SECRET_PREFIX}/${server}/`)) this.usedSaved.delete(key);
  }

  /** Saves a password for a server, as the "remember" button does. */
  async remember(server: string, kind: 'password', value: string): Promise<void> {
    const key = this.secretKey(server, kind);
    await this.secrets.store(key, value);
    await this.rememberKey(key);
  }

  dispose(): void {
    this._onDidAnswerHostKey.dispose();
    this._onDidAskTouch.dispose();
  }
}
