// The agent tools as VS Code language-model tools: the core (src/tools) does the work; this layer
// adds the person's confirmation, workspace trust, the settings and the cancellation token.
import * as vscode from 'vscode';
import { refusalLog, ToolError, TOOL_DEFINITIONS, TunnelTools, type ToolHost } from '../tools';
import { SECTION, settingValue } from './settings';

export const ENABLED_SETTING = `${SECTION}.agentTools.enabled`;
export const NON_LOOPBACK_SETTING = `${SECTION}.agentTools.allowNonLoopback`;

/** The token's cancellation as an AbortSignal, for as long as the call runs. */
function abortSignal(token: vscode.CancellationToken): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  if (token.isCancellationRequested) controller.abort();
  const listener = token.onCancellationRequested(() => controller.abort());
  return { signal: controller.signal, dispose: () => listener.dispose() };
}

export function registerAgentTools(host: Omit<ToolHost, 'allowNonLoopback' | 'nonLoopbackSwitch'>, log: vscode.LogOutputChannel): vscode.Disposable[] {
  const tools = new TunnelTools({
    ...host,
    // Trusted values only: a cloned repository's settings cannot widen what agents may open.
    allowNonLoopback: () => settingValue<boolean>('agentTools.allowNonLoopback').value === true,
    nonLoopbackSwitch: `the setting ${NON_LOOPBACK_SETTING}`,
  });

  /** What makes a call refused before it reaches the core. */
  const refusal = (name: string, needsConfirmation: boolean): ToolError | undefined => {
    if (settingValue<boolean>('agentTools.enabled').value === false) {
      return new ToolError(`The SSH tunnel tools are turned off (${ENABLED_SETTING}); ${name} is not available. Ask the user to turn them on, or to do this in the SSH Tunnels view.`, 'NOT_ALLOWED');
    }
    if (needsConfirmation && !vscode.workspace.isTrusted) {
      // Instructions planted in a cloned repository must not open or close tunnels.
      return new ToolError(`${name} is refused in Restricted Mode: the workspace must be trusted first (Manage Workspace Trust). Ask the user to trust this workspace, or to open the tunnel in the SSH Tunnels view.`, 'NOT_ALLOWED');
    }
    return undefined;
  };

  return TOOL_DEFINITIONS.map((definition) =>
    vscode.lm.registerTool<unknown>(definition.name, {
      async prepareInvocation(options) {
        const refused = refusal(definition.name, definition.needsConfirmation);
        if (refused) throw refused;
        await tools.ready(options.input);
        const confirmation = tools.confirmation(definition.name, options.input);
        if (!confirmation) return undefined;
        return { confirmationMessages: confirmation, invocationMessage: confirmation.title.replace(/\?$/, '…') };
      },
      async invoke(options, token) {
        const refused = refusal(definition.name, definition.needsConfirmation);
        if (refused) throw refused;
        const cancel = abortSignal(token);
        try {
          const result = await tools.invoke(definition.name, options.input, cancel.signal);
          if (!definition.readOnly) log.info(`Agent tool ${definition.name}: ${result.text}`);
          return new vscode.LanguageModelToolResult([new vscode.LanguageModelTextPart(result.text)]);
        } catch (err) {
          if (!definition.readOnly) log.warn(`Agent tool ${refusalLog(definition.name, err instanceof Error ? err.message : String(err))}`);
          if (err instanceof ToolError && err.code === 'CANCELLED' && token.isCancellationRequested) throw new vscode.CancellationError();
          throw err;
        } finally {
          cancel.dispose();
        }
      },
    }),
  );
}
