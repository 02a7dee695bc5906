// The steps of "Create Tunnel" as a person walks them: server, type, the forward as typed, an
// optional name; Back on every step after the first, and a whole `-L/-R/-D …` taken at any step.
// Each step is one quick input; a step resolves with a value, BACK or undefined (cancelled).
import * as vscode from 'vscode';
import type { ParsedForward } from '../../config/forwardSpec';
import { configuredTarget, type ServerConfig, type TunnelType } from '../../engine';
import { hasFlag, readForward } from '../forwardInput';
import { factsOfSpec, rowLabel } from '../rowWords';

const BACK = Symbol('back');
type Step<T> = Promise<T | typeof BACK | undefined>;

/** What the flow needs from the window. */
export interface StepsDeps {
  servers: () => ServerConfig[];
  serverState: (name: string) => string;
  /** Adds a server (the person types it), starting from `typed`; resolves with its name. */
  addServer: (typed: string) => Promise<string | undefined>;
  /** The forward box and the name box while they show (scripts and tests can fill them). */
  inputs: { forward?: vscode.InputBox; name?: vscode.InputBox };
}

export interface Answers {
  server: string;
  forward: ParsedForward;
  name?: string;
}

const TOTAL = 4;
const title = (n: number, what: string) => vscode.l10n.t('Create SSH tunnel ({0}/{1}): {2}', n, TOTAL, what);

type Item<T> = vscode.QuickPickItem & { value: T };

/**
 * One quick pick. `typed` turns what is typed into extra items (always shown) — how a whole
 * forward typed at a pick step is offered.
 */
function pick<T>(options: { title: string; placeholder: string; items: Item<T>[]; active?: T; back: boolean; typed?: (value: string) => Item<T>[] }): Step<{ value: T; typed: string }> {
  const qp = vscode.window.createQuickPick<Item<T>>();
  qp.title = options.title;
  qp.placeholder = options.placeholder;
  qp.ignoreFocusOut = true;
  qp.matchOnDescription = true;
  qp.items = options.items;
  if (options.back) qp.buttons = [vscode.QuickInputButtons.Back];
  const active = options.items.find((i) => i.value === options.active);
  if (active) qp.activeItems = [active];
  return new Promise((resolve) => {
    let done = false;
    const finish = (v: { value: T; typed: string } | typeof BACK | undefined) => {
      if (done) return;
      done = true;
      qp.dispose();
      resolve(v);
    };
    qp.onDidChangeValue((value) => {
      const extra = options.typed?.(value) ?? [];
      qp.items = [...extra, ...options.items];
      if (extra.length) qp.activeItems = [extra[0]];
    });
    qp.onDidTriggerButton((b) => b === vscode.QuickInputButtons.Back && finish(BACK));
    qp.onDidAccept(() => {
      const chosen = qp.selectedItems[0] ?? qp.activeItems[0];
      if (chosen) finish({ value: chosen.value, typed: qp.value });
    });
    qp.onDidHide(() => finish(undefined));
    qp.show();
  });
}

/** The forward box: validated as typed, says what it would open, and asks a second Enter before listening beyond loopback. */
function askForward(deps: StepsDeps, server: string, type: TunnelType, value: string): Step<{ forward: ParsedForward; text: string }> {
  const t = vscode.l10n.t;
  const box = vscode.window.createInputBox();
  box.title = title(3, t('ports and hosts'));
  box.prompt = {
    local: t('A port alone (3000), or as ssh -L writes it: [bind_address:]port:host:hostport, port:/remote.sock'),
    remote: t('A port alone (3000), or as ssh -R writes it: [bind_address:]port:host:hostport, port:/local.sock; -R 1080 for a SOCKS proxy on the server'),
    dynamic: t('The SOCKS port: [bind_address:]port, e.g. 1080'),
  }[type];
  box.placeholder = type === 'dynamic' ? '1080'
    : type === 'local' ? t('3000, 8080:localhost:80, 2375:/var/run/docker.sock or /tmp/db.sock:db:5432')
      : t('3000, 9000:localhost:3000, 9000:/tmp/app.sock, or -R 1080');
  box.value = value;
  box.ignoreFocusOut = true;
  box.buttons = [vscode.QuickInputButtons.Back];
  let confirmedExposure: string | undefined;
  const check = (text: string) => {
    const reading = readForward(text, type, server);
    if (text.trim() === '') box.validationMessage = undefined;
    else if (!reading.ok) box.validationMessage = { message: reading.error, severity: vscode.InputBoxValidationSeverity.Error };
    else if (reading.exposed) box.validationMessage = { message: `${reading.exposed} ${t('Press Enter to open it anyway.')}`, severity: vscode.InputBoxValidationSeverity.Warning };
    else box.validationMessage = { message: t('Opens: {0}', reading.sentence), severity: vscode.InputBoxValidationSeverity.Info };
    return reading;
  };
  check(value);
  deps.inputs.forward = box;
  return new Promise((resolve) => {
    let done = false;
    const finish = (v: { forward: ParsedForward; text: string } | typeof BACK | undefined) => {
      if (done) return;
      done = true;
      if (deps.inputs.forward === box) deps.inputs.forward = undefined;
      box.dispose();
      resolve(v);
    };
    box.onDidChangeValue((text) => {
      confirmedExposure = undefined;
      check(text);
    });
    box.onDidTriggerButton((b) => b === vscode.QuickInputButtons.Back && finish(BACK));
    box.onDidAccept(() => {
      const reading = check(box.value);
      if (!reading.ok) return;
      // Listening beyond loopback: the warning shows, and only a second Enter opens it.
      if (reading.exposed && confirmedExposure !== box.value) {
        confirmedExposure = box.value;
        box.validationMessage = { message: `${reading.exposed} ${t('Press Enter again to open it.')}`, severity: vscode.InputBoxValidationSeverity.Warning };
        return;
      }
      finish({ forward: reading.forward, text: box.value });
    });
    box.onDidHide(() => finish(undefined));
    box.show();
  });
}

/** The optional name: Enter on an empty box leaves the tunnel named for where it listens. */
function askName(deps: StepsDeps, server: string, forward: ParsedForward, value: string): Step<string> {
  const t = vscode.l10n.t;
  const box = vscode.window.createInputBox();
  box.title = title(4, t('name (optional)'));
  box.prompt = t('A name for the tree and the status bar, or Enter to call it {0}', rowLabel(factsOfSpec({ server, ...forward })));
  box.placeholder = t('e.g. postgres, staging web');
  box.value = value;
  box.ignoreFocusOut = true;
  box.buttons = [vscode.QuickInputButtons.Back];
  deps.inputs.name = box;
  return new Promise((resolve) => {
    let done = false;
    const finish = (v: string | typeof BACK | undefined) => {
      if (done) return;
      done = true;
      if (deps.inputs.name === box) deps.inputs.name = undefined;
      box.dispose();
      resolve(v);
    };
    box.onDidTriggerButton((b) => b === vscode.QuickInputButtons.Back && finish(BACK));
    box.onDidAccept(() => finish(box.value.trim()));
    box.onDidHide(() => finish(undefined));
    box.show();
  });
}

/** Flags as typed, and the type each names. */
const FLAG_TYPES: Record<string, TunnelType> = { L: 'local', R: 'remote', D: 'dynamic' };

/**
 * The items a forward typed whole at a pick step becomes: "Open …" when it reads, else one that
 * goes on in the forward box with the text kept (its validation then says what is missing).
 */
function typedForwardItems<T>(text: string, servers: string[], value: (server: string, typed: Typed) => T): Item<T>[] {
  if (!hasFlag(text)) return [];
  const t = vscode.l10n.t;
  const type = FLAG_TYPES[/-([LRD])/.exec(text)![1]];
  return servers.slice(0, 10).map((server) => {
    const reading = readForward(text, undefined, server);
    const where = servers.length > 1 ? server : undefined;
    return reading.ok
      ? { label: `$(add) ${t('Open {0}', text.trim())}`, description: where, detail: reading.sentence, alwaysShow: true, value: value(server, { type, text: text.trim(), forward: reading.forward }) }
      : { label: `$(edit) ${t('Go on typing {0}', text.trim())}`, description: where, detail: reading.error, alwaysShow: true, value: value(server, { type, text: text.trim() }) };
  });
}

/** A forward typed at a pick step: its type (from its flag), its text, and what it reads as, if it reads. */
interface Typed {
  type: TunnelType;
  text: string;
  forward?: ParsedForward;
}

type ServerChoice = { add: true } | { server: string; typed?: Typed };
type TypeChoice = { type: TunnelType } | { typed: Typed };

/** Walks the steps; resolves with the answers, or undefined when the person cancels. */
export async function createSteps(deps: StepsDeps, defaultServer: string | undefined): Promise<Answers | undefined> {
  const t = vscode.l10n.t;
  let server = defaultServer;
  let type: TunnelType | undefined;
  let forward: ParsedForward | undefined;
  let forwardText = '';
  let name = '';
  let step = 1;
  for (;;) {
    if (step === 1) {
      const list = deps.servers();
      const items: Item<ServerChoice>[] = list.map((s) => ({ label: s.alias, description: configuredTarget(s), detail: deps.serverState(s.alias), value: { server: s.alias } }));
      items.push({ label: `$(add) ${t('Add a server…')}`, alwaysShow: true, value: { add: true } });
      const names = list.map((s) => s.alias);
      const ordered = server ? [server, ...names.filter((n) => n !== server)] : names;
      const answer = await pick<ServerChoice>({
        title: title(1, t('server')),
        placeholder: t('Which server carries the tunnel? (or type a whole -L/-R/-D forward)'),
        items,
        active: items.find((i) => 'server' in i.value && i.value.server === server)?.value,
        back: false,
        typed: (text) => typedForwardItems<ServerChoice>(text, ordered, (s, typed) => ({ server: s, typed })),
      });
      if (answer === undefined || answer === BACK) return undefined;
      if ('add' in answer.value) {
        // What was typed in the pick is where the new server starts.
        const added = await deps.addServer(answer.typed.trim());
        if (!added) continue;
        server = added;
      } else server = answer.value.server;
      const typed = 'add' in answer.value ? undefined : answer.value.typed;
      if (typed) {
        ({ type, text: forwardText, forward } = typed);
        step = forward ? 4 : 3;
      } else step = 2;
      continue;
    }
    if (step === 2) {
      const items: Item<TypeChoice>[] = [
        { value: { type: 'local' }, label: `$(arrow-right) ${t('Local (-L)')}`, detail: t('A port on this machine reaches a host:port through the server (databases, dashboards).') },
        { value: { type: 'remote' }, label: `$(arrow-left) ${t('Remote (-R)')}`, detail: t('A port on the server reaches a host:port from this machine, or is a SOCKS proxy that reaches what this machine can.') },
        { value: { type: 'dynamic' }, label: `$(globe) ${t('Dynamic SOCKS (-D)')}`, detail: t('A SOCKS proxy on this machine that reaches anything the server can.') },
      ];
      const answer = await pick<TypeChoice>({
        title: title(2, t('type')),
        placeholder: t('Which kind of forward? (or type a whole -L/-R/-D forward)'),
        items,
        active: items.find((i) => 'type' in i.value && i.value.type === type)?.value,
        back: true,
        typed: (text) => typedForwardItems<TypeChoice>(text, [server!], (_s, typed) => ({ typed })),
      });
      if (answer === undefined) return undefined;
      if (answer === BACK) {
        step = 1;
        continue;
      }
      if ('typed' in answer.value) {
        ({ type, text: forwardText, forward } = answer.value.typed);
        step = forward ? 4 : 3;
      } else {
        if (answer.value.type !== type) forwardText = '';
        type = answer.value.type;
        step = 3;
      }
      continue;
    }
    if (step === 3) {
      const answer = await askForward(deps, server!, type!, forwardText);
      if (answer === undefined) return undefined;
      if (answer === BACK) {
        step = 2;
        continue;
      }
      forward = answer.forward;
      forwardText = answer.text;
      step = 4;
      continue;
    }
    const answer = await askName(deps, server!, forward!, name);
    if (answer === undefined) return undefined;
    if (answer === BACK) {
      // A forward typed whole at a pick step goes back to its box, where it can be changed.
      type = forward!.type;
      step = 3;
      continue;
    }
    name = answer;
    return { server: server!, forward: forward!, ...(name ? { name } : {}) };
  }
}
