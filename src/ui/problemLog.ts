// Settings and ssh config problems, told once each: in the log when they appear, and mistakes in
// the settings also as a notification (the ssh config's notes stay in the log).
import * as vscode from 'vscode';
import { SECTION } from './settings';

/** A function that takes the current problems of one source (`Servers`, `Settings`) and tells the new ones. */
export function problemReporter(log: vscode.LogOutputChannel, source: string): (problems: readonly string[]) => void {
  let told = new Set<string>();
  return (problems) => {
    const now = new Set(problems);
    const fresh = [...now].filter((problem) => !told.has(problem));
    for (const problem of fresh) log.warn(`${source}: ${problem}`);
    told = now;
    const settingsErrors = fresh.filter((problem) => problem.startsWith(`${SECTION}.`));
    if (settingsErrors.length) {
      const showLog = vscode.l10n.t('Show Log');
      const more = settingsErrors.length > 1 ? ' ' + vscode.l10n.t('({0} more in the log)', settingsErrors.length - 1) : '';
      void vscode.window.showWarningMessage(settingsErrors[0] + more, showLog).then((choice) => choice === showLog && log.show(true));
    }
  };
}
