// Main of the helper extension the runner puts beside SSH Tunnels for the agent phase: runs the
// agent-tool suite once the window has started, sends the reporter's lines and the exit code to the runner.
import { runSuiteIn } from '../helpers/helperMain';
import { driver } from './driver';

export function activate(): void {
  runSuiteIn(__dirname, driver, 'agent suite');
}

export function deactivate(): void {}
