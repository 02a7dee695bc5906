// Main of the helper extension the runner puts beside SSH Tunnels for the API phase. Unlike the
// agent helper, its code is copied into its own folder: SSH Tunnels names the extension that calls
// its API from the call's stack, so the calls must come from this extension's files.
import { runSuiteIn } from '../helpers/helperMain';
import { driver } from './driver';

export function activate(): void {
  runSuiteIn(__dirname, driver, 'API suite');
}

export function deactivate(): void {}
