// `npm run demo`: an SSH server and a web page on loopback, and a browser VS Code (code-server) with
// this extension and a workspace whose settings open a tunnel to that page. Ctrl-C ends everything.
// Usage: node --import tsx scripts/vscode/demo.mjs [--port 8080] [--in-process-ssh]
import { baseUserSettings, startCodeServer, workbenchUrl } from '../../test/runners/codeServer.mjs';
import { startDemoEnvironment, DEMO_SERVER, DEMO_TUNNEL } from '../../test/runners/demoEnv.ts';

const argv = process.argv.slice(2);
const portArg = argv.indexOf('--port');
const port = portArg >= 0 ? Number(argv[portArg + 1]) : undefined;
if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) {
  console.error(`--port needs a TCP port number (1-65535), got ${argv[portArg + 1]}`);
  process.exit(2);
}

const env = await startDemoEnvironment({ inProcessSsh: argv.includes('--in-process-ssh') });
let server;
const stop = async () => {
  await server?.stop();
  await env.stop();
};
try {
  // A workspace we just generated: trust it, so its autoStart tunnel opens without a prompt.
  server = await startCodeServer({ workspace: env.workspace, userSettings: baseUserSettings({ trusted: true }), port });
} catch (err) {
  await stop();
  const busy = /EADDRINUSE/.test(String(err));
  console.error(busy ? `Port ${port} is in use; pick another with --port or leave it out for a free one.` : String(err));
  process.exit(1);
}

const url = workbenchUrl(server.port, { workspace: env.workspace });
console.log(`
SSH Tunnels demo is running (everything on 127.0.0.1):
  SSH server "${DEMO_SERVER}":  ${env.ssh.kind === 'openssh' ? 'OpenSSH sshd' : 'in-process ssh2 server'} on port ${env.ssh.port}
  web page (server side):  http://127.0.0.1:${env.pagePort}/
  tunnel "${DEMO_TUNNEL}":      http://127.0.0.1:${env.tunnelPort}/  (opens by itself from the workspace settings)
  workspace:               ${env.workspace}

Open VS Code in a browser at:
  ${url}

Press Ctrl-C to stop.`);

let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  console.log('\nstopping the demo...');
  await stop();
  process.exit(0);
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
server.exited.then(async (code) => {
  if (stopping) return;
  console.error(`code-server exited (${code}); stopping the demo.`);
  await env.stop();
  process.exit(1);
});
