// The manifest's contributions hang together: every menu entry names a contributed command, every
// command has the category and an icon, the settings schema bounds ports and matches what the
// config layer accepts, the commands the code registers are exactly the contributed ones, and the
// language-model tools are the core's definitions; the Marketplace metadata is there, and the
// extension id is the same everywhere it is written.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { validateServerSettings } from '../../src/config/servers';
import { TOOL_DEFINITIONS } from '../../src/tools';
import { schemaErrors } from '../helpers/outputSchema';
import { contributedSettings } from '../helpers/settingsSchema';

const ROOT = path.resolve(__dirname, '../..');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const contributes = pkg.contributes;

interface Schema {
  type?: string | string[];
  minimum?: number;
  maximum?: number;
  enum?: string[];
  description?: string;
  markdownDescription?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  required?: string[];
}

describe('package.json contributions', () => {
  const commands = (contributes.commands as { command: string; title: string; category: string; icon: string }[]).map((c) => c.command);

  it('every command has the "SSH Tunnels" category, a title and a codicon', () => {
    for (const c of contributes.commands) {
      assert.equal(c.category, 'SSH Tunnels', c.command);
      assert.ok(c.title, c.command);
      assert.match(c.icon, /^\$\([a-z-~]+\)$/, c.command);
    }
  });

  it('the code registers exactly the contributed commands', () => {
    const ids = (file: string, start: string) => {
      const source = fs.readFileSync(path.join(ROOT, file), 'utf8');
      const block = source.slice(source.indexOf(start), source.indexOf('} as const;', source.indexOf(start)));
      return [...block.matchAll(/'(sshTunnels\.[A-Za-z]+)'/g)].map((m) => m[1]);
    };
    // The view's commands, and the API room's (variables for launch.json, extension access).
    const registered = [...ids('src/ui/commands/ids.ts', 'export const COMMANDS = {'), ...ids('src/ui/api/ids.ts', 'export const API_COMMANDS = {')].sort();
    assert.deepEqual(registered, [...commands].sort());
  });

  it('the sshTunnel task type, its background problem matcher and the link handler are contributed as the code names them', () => {
    const source = fs.readFileSync(path.join(ROOT, 'src/ui/api/ids.ts'), 'utf8');
    const taskType = /TASK_TYPE = '([\w]+)'/.exec(source)?.[1];
    const matcher = /PROBLEM_MATCHER = '\$([\w]+)'/.exec(source)?.[1];
    assert.deepEqual(contributes.taskDefinitions.map((d: { type: string }) => d.type), [taskType]);
    const m = contributes.problemMatchers.find((p: { name: string }) => p.name === matcher);
    assert.ok(m, `problem matcher ${matcher}`);
    // The task's terminal writes these tags (src/ui/api/taskTerminal.ts).
    assert.ok(new RegExp(m.background.beginsPattern).test('[opening] Opening db through db…'));
    assert.ok(new RegExp(m.background.endsPattern).test('[ready] db is open.'));
    assert.ok(!new RegExp(m.pattern.regexp).test('[error] anything'), 'the pattern matches no line: the matcher only says when the task is ready');
    assert.ok(pkg.activationEvents.includes('onUri') && pkg.activationEvents.includes(`onTaskType:${taskType}`));
    const spec = contributes.taskDefinitions[0].properties.spec.properties;
    // A spec takes what the agent tools take; how a window starts, shows and watches a settings tunnel stays with the settings.
    const windowOnly = ['autoStart', 'label', 'protocol', 'onForward', 'requireLocalPort', 'watchRemotePort'];
    const tunnelFields = Object.keys(contributedSettings<{ items: { properties: Record<string, unknown> } }>(pkg)['sshTunnels.tunnels'].items.properties).filter((f) => !windowOnly.includes(f));
    assert.deepEqual(Object.keys(spec).sort(), tunnelFields.sort(), 'a task\'s spec has the connection fields of a settings tunnel');
  });

  it('every menu entry and welcome button names a contributed command', () => {
    for (const [menu, entries] of Object.entries(contributes.menus as Record<string, { command: string; when?: string }[]>)) {
      for (const e of entries) assert.ok(commands.includes(e.command), `${menu}: ${e.command}`);
    }
    for (const w of contributes.viewsWelcome) {
      for (const m of (w.contents as string).matchAll(/\(command:([^)]+)\)/g)) assert.ok(commands.includes(m[1]), m[1]);
    }
  });

  it('the view lives in the activity-bar container, whose icon exists', () => {
    const container = contributes.viewsContainers.activitybar[0];
    assert.equal(container.title, 'SSH Tunnels');
    assert.ok(fs.existsSync(path.join(ROOT, container.icon)), container.icon);
    assert.equal(contributes.views[container.id][0].id, 'sshTunnels.tunnels');
  });

  it('has what the Marketplace and Open VSX show: icon, banner, repository, bugs, homepage, keywords, categories', () => {
    assert.match(pkg.icon, /^media\/.+\.png$/, 'the Marketplace takes a PNG icon');
    assert.ok(fs.existsSync(path.join(ROOT, pkg.icon)), pkg.icon);
    assert.ok(fs.existsSync(path.join(ROOT, pkg.icon.replace(/\.png$/, '.svg'))), 'the icon\'s SVG source (scripts/render-icon.mjs renders it)');
    assert.match(pkg.galleryBanner.color, /^#[0-9a-f]{6}$/i);
    assert.ok(['dark', 'light'].includes(pkg.galleryBanner.theme), pkg.galleryBanner.theme);
    const repo = /^https:\/\/github\.com\/([\w.-]+)\/([\w.-]+?)(\.git)?$/.exec(pkg.repository.url);
    assert.ok(repo, `repository.url ${pkg.repository.url} is not a GitHub URL (vsce rewrites README links from it)`);
    const base = `https://github.com/${repo[1]}/${repo[2]}`;
    assert.equal(pkg.bugs.url, `${base}/issues`);
    assert.ok(pkg.homepage.startsWith(base), pkg.homepage);
    for (const k of ['ssh', 'tunnel', 'port forwarding', 'socks', 'ssh -L', 'autossh', 'mcp']) assert.ok(pkg.keywords.includes(k), `keyword ${k}`);
    // vsce adds its own tags (e.g. for language-model tools); the Marketplace takes at most 30.
    assert.ok(pkg.keywords.length <= 25, `${pkg.keywords.length} keywords`);
    assert.ok(pkg.categories.some((c: string) => c !== 'Other'), 'a category beyond "Other"');
    assert.notEqual(pkg.publisher, pkg.name, 'a publisher id, not the extension name again');
  });

  it('the extension id (publisher.name) is the one the code and the test runners use', () => {
    const id = `${pkg.publisher}.${pkg.name}`;
    const uses = {
      'src/ui/commands/ids.ts': /@ext:([\w.-]+)/g,
      'test/helpers/vscode.ts': /EXTENSION_ID = '([\w.-]+)'/g,
      'test/runners/offline.mjs': /extensionDependencies: \['([\w.-]+)'\]/g,
    };
    for (const [file, pattern] of Object.entries(uses)) {
      const found = [...fs.readFileSync(path.join(ROOT, file), 'utf8').matchAll(pattern)].map((m) => m[1]);
      assert.ok(found.length > 0, `${file} no longer names the extension id as expected`);
      for (const f of found) assert.equal(f, id, file);
    }
  });

  it('trust, extension kind and activation are declared', () => {
    assert.deepEqual(pkg.extensionKind, ['ui', 'workspace']);
    assert.equal(pkg.capabilities.untrustedWorkspaces.supported, 'limited');
    assert.deepEqual(pkg.capabilities.untrustedWorkspaces.restrictedConfigurations.sort(), ['sshTunnels.servers', 'sshTunnels.sshConfigFile', 'sshTunnels.tunnels']);
    assert.ok(pkg.activationEvents.includes('onStartupFinished'));
  });

  describe('language-model tools', () => {
    const tools = contributes.languageModelTools as Record<string, unknown>[];

    it('are exactly the core\'s TOOL_DEFINITIONS, field for field', () => {
      assert.deepEqual(
        tools.map((t) => t.name),
        TOOL_DEFINITIONS.map((d) => d.name),
      );
      for (const d of TOOL_DEFINITIONS) {
        const t = tools.find((x) => x.name === d.name)!;
        for (const field of ['displayName', 'toolReferenceName', 'icon', 'userDescription', 'modelDescription', 'inputSchema', 'tags'] as const) assert.deepEqual(t[field], d[field], `${d.name}.${field}`);
      }
    });

    it('fit VS Code\'s languageModelTools schema, and each can be #-referenced in chat with its own name and a codicon', () => {
      // VS Code's contribution schema (languageModelToolsContribution.ts): no other fields, these types and patterns.
      const contribution = {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'displayName', 'modelDescription'],
        properties: {
          name: { type: 'string', pattern: '^(?!copilot_|vscode_)[\\w-]+$' },
          toolReferenceName: { type: 'string', pattern: '^[\\w-]+$' },
          legacyToolReferenceFullNames: { type: 'array', items: { type: 'string' } },
          displayName: { type: 'string' },
          userDescription: { type: 'string' },
          modelDescription: { type: 'string' },
          inputSchema: { type: 'object' },
          canBeReferencedInPrompt: { type: 'boolean' },
          icon: { anyOf: [{ type: 'string' }, { type: 'object', properties: { light: { type: 'string' }, dark: { type: 'string' } } }] },
          when: { type: 'string' },
          tags: { type: 'array', items: { type: 'string', pattern: '^(?!copilot_|vscode_)' } },
        },
      };
      for (const t of tools) {
        assert.equal(schemaErrors(contribution, t), '', String(t.name));
        // VS Code drops a tool that can be referenced but has no reference name.
        assert.equal(t.canBeReferencedInPrompt, true, String(t.name));
        assert.ok(t.toolReferenceName, String(t.name));
        assert.match(String(t.icon), /^\$\([a-z-]+\)$/, `${t.name}: a codicon`);
        assert.ok(String(t.userDescription).length > 20, `${t.name}: userDescription`);
      }
      const references = tools.map((t) => t.toolReferenceName);
      assert.equal(new Set(references).size, references.length, 'distinct reference names');
    });

    it('each has a valid name, says what / when / when not, and is switched by sshTunnels.agentTools.enabled', () => {
      for (const t of tools) {
        assert.match(String(t.name), /^(?!copilot_|vscode_)[\w-]+$/);
        assert.match(String(t.modelDescription), /Use it (when|to|before)/, `${t.name}: when`);
        assert.match(String(t.modelDescription), /Do not|does not/, `${t.name}: when not`);
        assert.ok((t.tags as string[]).length > 0 && t.displayName && t.userDescription, String(t.name));
        assert.equal((t.inputSchema as { type: string }).type, 'object');
        assert.equal(t.when, 'config.sshTunnels.agentTools.enabled');
      }
    });

    it('create and close ask first; list, status and ports are read-only', () => {
      const flags = Object.fromEntries(TOOL_DEFINITIONS.map((d) => [d.name, [d.needsConfirmation, d.readOnly, d.destructive]]));
      assert.deepEqual(flags, {
        ssh_tunnel_create: [true, false, false],
        ssh_tunnel_list: [false, true, false],
        ssh_tunnel_close: [true, false, true],
        ssh_connection_status: [false, true, false],
        ssh_server_ports: [false, true, false],
      });
    });

    it('have their settings, and the API they need (VS Code 1.95, types to match)', () => {
      const props = contributedSettings<Schema & { default?: unknown; scope?: string }>(pkg);
      assert.equal(props['sshTunnels.agentTools.enabled'].default, true);
      assert.equal(props['sshTunnels.agentTools.allowNonLoopback'].default, false);
      assert.equal(props['sshTunnels.agentTools.allowNonLoopback'].scope, 'machine', 'a repository\'s settings cannot open it up');
      assert.equal(pkg.engines.vscode, '^1.95.0');
      assert.equal(pkg.devDependencies['@types/vscode'], '~1.95.0');
    });
  });

  describe('settings schema', () => {
    const props = contributedSettings<Schema>(pkg);
    const server = props['sshTunnels.servers'].items!;
    const tunnel = props['sshTunnels.tunnels'].items!;

    it('describes every field', () => {
      for (const [name, schema] of [...Object.entries(server.properties!), ...Object.entries(tunnel.properties!)]) {
        assert.ok(schema.description || schema.markdownDescription, `${name} has no description`);
        assert.ok(schema.type || (schema as { anyOf?: unknown }).anyOf, `${name} has no type`);
      }
    });

    it('bounds every port to 0-65535 (SSH port 1-65535) and lists the enums', () => {
      assert.deepEqual([server.properties!.port.minimum, server.properties!.port.maximum], [1, 65535]);
      for (const p of ['localPort', 'remotePort']) assert.deepEqual([tunnel.properties![p].minimum, tunnel.properties![p].maximum], [0, 65535], p);
      assert.deepEqual(tunnel.properties!.type.enum, ['local', 'remote', 'dynamic']);
      for (const v of ['yes', 'accept-new', 'no']) assert.ok(server.properties!.strictHostKeyChecking.enum!.includes(v), v);
      assert.deepEqual(server.required, ['host']);
    });

    it('has the brief\'s server and tunnel fields', () => {
      for (const f of ['host', 'hostName', 'port', 'user', 'identityFile', 'proxyJump', 'userKnownHostsFile', 'globalKnownHostsFile', 'strictHostKeyChecking', 'serverAliveInterval', 'serverAliveCountMax', 'ciphers']) {
        assert.ok(server.properties![f], `server field ${f}`);
      }
      for (const f of ['name', 'server', 'type', 'localHost', 'localPort', 'remoteHost', 'remotePort', 'autoStart']) assert.ok(tunnel.properties![f], `tunnel field ${f}`);
      assert.equal(props['sshTunnels.sshConfigFile'].type, 'string');
    });

    it('offers no field the config layer would refuse (and no secrets)', () => {
      for (const field of Object.keys(server.properties!)) {
        const errors = validateServerSettings([{ host: 'x', [field]: field === 'host' ? 'x' : undefined }]).errors;
        assert.deepEqual(errors.filter((e) => e.includes('unknown field')), [], field);
      }
      for (const secret of ['password', 'passphrase', 'privateKey']) assert.equal(server.properties![secret], undefined, secret);
    });
  });
});
