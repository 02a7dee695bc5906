// `ssh-tunnels trust SERVER`: connects once, asks in the terminal about an unknown host key
// (remembered in known_hosts on yes), and says how it went. What an MCP refusal tells people to run.
import { errorMessage, TunnelError } from '../engine';
import { describeOptions, parseArgs, UsageError, type OptionSpec } from './args';
import { createCliHost } from './host';
import { TerminalPrompts } from './terminalPrompts';

export const TRUST_OPTIONS: OptionSpec[] = [
  { flags: ['--workspace', '-w'], key: 'workspace', value: 'DIR', help: 'also read the servers of DIR/.vscode/settings.json (asked first unless allowed: ssh-tunnels allow DIR)' },
  { flags: ['-F', '--ssh-config'], key: 'sshConfig', value: 'FILE', help: 'the OpenSSH client config to read (default ~/.ssh/config)' },
  { flags: ['--help', '-h'], key: 'help', help: 'show this help' },
];

export const TRUST_HELP = `Usage: ssh-tunnels trust [options] SERVER

Connects to SERVER once. If its host key is not in known_hosts yet, shows the key type and
SHA256 fingerprint and asks whether to trust it; "yes" adds it to known_hosts, as ssh does.
A changed key is refused. Run it before an MCP client (which has no terminal) opens tunnels
through a new server. Exit status: 0 if the server's key is trusted and the login worked.

Options:
${describeOptions(TRUST_OPTIONS)}
`;

export async function runTrust(argv: string[]): Promise<number> {
  const { options, positionals } = parseArgs(argv, TRUST_OPTIONS, 'trust');
  if (options.help) {
    process.stdout.write(TRUST_HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('Name one server: ssh-tunnels trust SERVER');
  const [name] = positionals;
  let asked = false;
  const prompts = new TerminalPrompts({ input: process.stdin, output: process.stderr });
  const ask = prompts.hostKey;
  prompts.hostKey = (question) => {
    asked = true;
    return ask(question);
  };
  const host = await createCliHost({ workspace: options.workspace as string | undefined, sshConfig: options.sshConfig as string | undefined, prompts, log: () => undefined });
  try {
    if (!host.servers.get(name)) throw new UsageError(host.servers.unknownServerError(name).message);
    try {
      await host.manager.connectServer(name);
      process.stdout.write(`${name}: connected; its host key is trusted${asked ? ' from now on' : ' (it already was)'}.\n`);
      return 0;
    } catch (err) {
      const code = err instanceof TunnelError ? err.code : undefined;
      if (code === 'AUTH_FAILED') process.stdout.write(`${name}: the host key is trusted, but logging in failed: ${errorMessage(err)}\n`);
      else process.stdout.write(`${name}: ${errorMessage(err)}\n`);
      return 1;
    }
  } finally {
    await host.dispose();
  }
}
