// The sshTunnel task type: Run Task lists one task per tunnel of the settings, and tasks.json can
// name one (`"tunnel": "postgres"`) or describe one (`"spec": { … }`). Each runs as a background
// task with the problem matcher that says when its tunnel is ready, with no matcher to write.
import * as vscode from 'vscode';
import type { SettingsFeed } from '../settingsFeed';
import { configuredDescription } from '../tree';
import { PROBLEM_MATCHER, TASK_TYPE } from './ids';
import { CloseTaskTerminal, TunnelTaskTerminal, type TaskDeps, type TunnelTaskDefinition } from './taskTerminal';

export class TunnelTaskProvider implements vscode.TaskProvider {
  constructor(
    private readonly deps: TaskDeps,
    private readonly settingsFeed: SettingsFeed,
  ) {}

  /** A task for every tunnel of the settings: by name when it has one, as a spec otherwise. */
  provideTasks(): vscode.Task[] {
    return this.settingsFeed.configured().map(({ spec }) => {
      const { openedBy: _o, ...fields } = spec;
      const definition: TunnelTaskDefinition = spec.name ? { type: TASK_TYPE, tunnel: spec.name } : { type: TASK_TYPE, spec: fields };
      return this.task(definition, vscode.TaskScope.Workspace, spec.name ?? configuredDescription(spec));
    });
  }

  /** A task of tasks.json: its execution, and the background matcher unless it only closes. */
  resolveTask(task: vscode.Task): vscode.Task | undefined {
    const definition = task.definition as TunnelTaskDefinition;
    if (definition.type !== TASK_TYPE) return undefined;
    return this.task(definition, task.scope ?? vscode.TaskScope.Workspace, task.name);
  }

  private task(definition: TunnelTaskDefinition, scope: vscode.TaskScope | vscode.WorkspaceFolder, name: string): vscode.Task {
    const execution = new vscode.CustomExecution(async (resolved) => {
      const d = resolved as TunnelTaskDefinition;
      return d.close ? new CloseTaskTerminal(d, this.deps.log) : new TunnelTaskTerminal(this.deps, d, name);
    });
    const task = new vscode.Task(definition, scope, name, 'SSH Tunnels', execution, definition.close ? [] : [PROBLEM_MATCHER]);
    task.isBackground = !definition.close;
    // The terminal comes forward only when something goes wrong.
    task.presentationOptions = { reveal: vscode.TaskRevealKind.Silent, focus: false, echo: false };
    return task;
  }
}
