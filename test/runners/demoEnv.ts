// What `npm run demo` and the UI test show: an SSH server on loopback (real OpenSSH sshd when it is
// installed, otherwise an in-process ssh2 server with generated keys that serves direct-tcpip), a
// small web page on loopback, and a workspace whose settings define that server and a local
// tunnel to the page that opens on its own (autoStart).
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Server as SshServer, utils as sshUtils, type Connection } from 'ssh2';
import { SSHD, SshdFixture, freePort } from '../fixtures/sshd';

export interface DemoSsh {
  kind: 'openssh' | 'ssh2';
  port: number;
  user: string;
  identityFile: string;
  knownHostsFile: string;
  stop(): Promise<void>;
}

export interface DemoEnvironment {
  ssh: DemoSsh;
  pagePort: number;
  tunnelPort: number;
  workspace: string;
  stop(): Promise<void>;
}

export const DEMO_SERVER = 'demo';
export const DEMO_TUNNEL = 'demo page';

async function startOpenSsh(): Promise<DemoSsh> {
  const fixture = await SshdFixture.start();
  return {
    kind: 'openssh',
    port: fixture.port,
    user: fixture.user,
    identityFile: fixture.clientKeyPath,
    knownHostsFile: fixture.knownHostsPath,
    stop: () => fixture.stop(),
  };
}

/**
 * An ed25519 key pair from ssh2. Its generator drops a leading zero byte of the public key about
 * once in 250 keys, giving a pair nothing can parse ("Malformed OpenSSH public key"): draw again.
 */
function ed25519KeyPair(): { private: string; public: string } {
  for (let attempt = 0; attempt < 20; attempt++) {
    const pair = sshUtils.generateKeyPairSync('ed25519');
    if (!(sshUtils.parseKey(pair.public) instanceof Error) && !(sshUtils.parseKey(pair.private) instanceof Error)) return pair;
  }
  throw new Error('ssh2 generated no usable ed25519 key in 20 attempts');
}

/** An ssh2.Server that accepts one generated client key and opens direct-tcpip to loopback only. */
async function startInProcessSsh(): Promise<DemoSsh> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-tunnels-demo-ssh-'));
  const hostKey = ed25519KeyPair();
  const clientKey = ed25519KeyPair();
  const identityFile = path.join(dir, 'client_key');
  fs.writeFileSync(identityFile, clientKey.private, { mode: 0o600 });
  const allowed = sshUtils.parseKey(clientKey.public);
  if (allowed instanceof Error) throw allowed;
  const user = os.userInfo().username;
  const connections = new Set<Connection>();

  const server = new SshServer({ hostKeys: [hostKey.private] }, (client) => {
    connections.add(client);
    client.on('close', () => connections.delete(client));
    client.on('error', () => undefined);
    client.on('authentication', (ctx) => {
      if (ctx.method !== 'publickey' || ctx.username !== user) return ctx.reject(['publickey']);
      const same = ctx.key.algo === allowed.type && ctx.key.data.equals(allowed.getPublicSSH());
      if (!same) return ctx.reject(['publickey']);
      if (ctx.signature && ctx.blob && !allowed.verify(ctx.blob, ctx.signature, ctx.hashAlgo)) return ctx.reject(['publickey']);
      ctx.accept();
    });
    client.on('ready', () => {
      client.on('tcpip', (accept, reject, info) => {
        if (!['127.0.0.1', 'localhost', '::1'].includes(info.destIP)) return reject();
        const socket = net.connect(info.destPort, info.destIP);
        socket.once('connect', () => {
          const channel = accept();
          socket.pipe(channel).pipe(socket);
          channel.on('error', () => socket.destroy());
        });
        socket.once('error', () => reject());
      });
      client.on('session', (_accept, reject) => reject());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const knownHostsFile = path.join(dir, 'known_hosts');
  const [type, key] = hostKey.public.trim().split(/\s+/);
  fs.writeFileSync(knownHostsFile, `[127.0.0.1]:${port} ${type} ${key}\n`);
  return {
    kind: 'ssh2',
    port,
    user,
    identityFile,
    knownHostsFile,
    stop: async () => {
      for (const c of connections) c.end();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function startPage(): Promise<{ port: number; close(): Promise<void> }> {
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>SSH Tunnels demo</title></head>
<body style="font-family: sans-serif; margin: 3em">
<h1>Hello through an SSH tunnel</h1>
<p>This page is served on the SSH server's side of the tunnel; you reached it through the
local forward that the SSH Tunnels extension opened from the workspace settings.</p>
</body></html>`;
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** Starts the SSH server and the page, and writes the demo workspace. */
export async function startDemoEnvironment(options: { inProcessSsh?: boolean } = {}): Promise<DemoEnvironment> {
  const useOpenSsh = !options.inProcessSsh && fs.existsSync(SSHD);
  const ssh = useOpenSsh ? await startOpenSsh() : await startInProcessSsh();
  const page = await startPage();
  const tunnelPort = await freePort();
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-tunnels-demo-'));
  const settings = {
    'sshTunnels.servers': [
      {
        host: DEMO_SERVER,
        hostName: '127.0.0.1',
        port: ssh.port,
        user: ssh.user,
        identityFile: ssh.identityFile,
        userKnownHostsFile: ssh.knownHostsFile,
        strictHostKeyChecking: 'yes',
      },
    ],
    'sshTunnels.tunnels': [
      {
        name: DEMO_TUNNEL,
        server: DEMO_SERVER,
        type: 'local',
        localHost: '127.0.0.1',
        localPort: tunnelPort,
        remoteHost: '127.0.0.1',
        remotePort: page.port,
        autoStart: true,
      },
    ],
  };
  fs.mkdirSync(path.join(workspace, '.vscode'));
  fs.writeFileSync(path.join(workspace, '.vscode/settings.json'), JSON.stringify(settings, null, 2) + '\n');
  fs.writeFileSync(
    path.join(workspace, 'README.md'),
    `# SSH Tunnels demo\n\n` +
      `- SSH server \`${DEMO_SERVER}\`: ${ssh.kind === 'openssh' ? 'OpenSSH sshd' : 'in-process ssh2 server'} on 127.0.0.1:${ssh.port}\n` +
      `- A web page on the server side: 127.0.0.1:${page.port}\n` +
      `- The tunnel \`${DEMO_TUNNEL}\` (autoStart, in .vscode/settings.json): http://127.0.0.1:${tunnelPort} → 127.0.0.1:${page.port}\n\n` +
      `Edit .vscode/settings.json to add tunnels; the SSH Tunnels view follows the edits.\n`,
  );
  return {
    ssh,
    pagePort: page.port,
    tunnelPort,
    workspace,
    stop: async () => {
      await page.close();
      await ssh.stop();
      fs.rmSync(workspace, { recursive: true, force: true });
    },
  };
}
