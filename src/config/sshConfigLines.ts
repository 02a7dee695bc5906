/**
 * Splits ssh_config text into keyword + arguments the way OpenSSH's readconf.c does
 * (process_config_line: strdelim for the keyword, one optional `=`, then misc.c argv_split
 * for the arguments: quotes, backslash escapes, `#` starting a word ends the line).
 * A line that cannot be read is reported with file:line and skipped; the rest still counts.
 */

export interface ConfigLine {
  file: string;
  line: number;
  /** The keyword as written, for messages. */
  keyword: string;
  /** The keyword lowercased, as ssh compares it. */
  key: string;
  args: string[];
  /** The text after the keyword (and `=`), trailing whitespace removed: ProxyCommand takes it verbatim. */
  rest: string;
}

export type TokenizedLine = { keyword: string; args: string[]; rest: string } | { error: string } | undefined;

const WHITESPACE = ' \t\r\n';

/** misc.c argv_split(s, terminate_on_comment=1); undefined when a quote is left open. */
export function argvSplit(s: string): string[] | undefined {
  const argv: string[] = [];
  let i = 0;
  while (i < s.length) {
    if (s[i] === ' ' || s[i] === '\t') {
      i++;
      continue;
    }
    if (s[i] === '#') break;
    let quote = '';
    let arg = '';
    for (; i < s.length; i++) {
      const c = s[i];
      if (c === '\\') {
        const next = s[i + 1];
        if (next === "'" || next === '"' || next === '\\' || (quote === '' && next === ' ')) {
          i++;
          arg += next;
        } else {
          arg += c; // an escape ssh does not know stays as written
        }
      } else if (quote === '' && (c === ' ' || c === '\t')) {
        break;
      } else if (quote === '' && (c === '"' || c === "'")) {
        quote = c;
      } else if (quote !== '' && c === quote) {
        quote = '';
      } else {
        arg += c;
      }
    }
    if (quote !== '') return undefined;
    argv.push(arg);
  }
  return argv;
}

/** One line as readconf.c's process_config_line reads it; undefined for blank and comment lines. */
export function tokenizeLine(raw: string): TokenizedLine {
  let end = raw.length;
  while (end > 0 && (WHITESPACE + '\f').includes(raw[end - 1])) end--;
  const line = raw.slice(0, end);
  let i = 0;
  while (i < line.length && WHITESPACE.includes(line[i])) i++;
  if (i >= line.length || line[i] === '#') return undefined;
  let keyword = '';
  if (line[i] === '"') {
    const close = line.indexOf('"', i + 1);
    if (close < 0) return { error: 'unbalanced quote in the keyword' };
    keyword = line.slice(i + 1, close);
    i = close + 1;
  } else {
    while (i < line.length && !(WHITESPACE + '="').includes(line[i])) keyword += line[i++];
  }
  // strdelim: whitespace, then at most one `=`, then whitespace.
  while (i < line.length && WHITESPACE.includes(line[i])) i++;
  if (line[i] === '=') {
    i++;
    while (i < line.length && WHITESPACE.includes(line[i])) i++;
  }
  if (keyword === '') return { error: 'no keyword' };
  const rest = line.slice(i);
  if (rest === '') return { error: `no argument after keyword "${keyword}"` };
  const args = argvSplit(rest);
  if (args === undefined) return { error: 'invalid quotes' };
  return { keyword, args, rest };
}

/** Every keyword OpenSSH's readconf.c knows (current and deprecated); others earn a warning. */
export const KNOWN_KEYWORDS = new Set(
  (
    'protocol cipher fallbacktorsh globalknownhostsfile2 rhostsauthentication userknownhostsfile2 useroaming usersh ' +
    'useprivilegedport afstokenpassing kerberosauthentication kerberostgtpassing rsaauthentication rhostsrsaauthentication ' +
    'compressionlevel gssapiauthentication gssapidelegatecredentials gssapikeyexchange gssapiclientidentity gssapiserveridentity ' +
    'gssapirenewalforceskeyex gssapitrustdns gssapikexalgorithms pkcs11provider smartcarddevice forwardagent forwardx11 ' +
    'forwardx11trusted forwardx11timeout exitonforwardfailure xauthlocation gatewayports passwordauthentication ' +
    'kbdinteractiveauthentication kbdinteractivedevices challengeresponseauthentication skeyauthentication tisauthentication ' +
    'pubkeyauthentication dsaauthentication hostbasedauthentication identityfile identityfile2 identitiesonly certificatefile ' +
    'addkeystoagent identityagent hostname hostkeyalias proxycommand port ciphers macs remoteforward localforward ' +
    'permitremoteopen user host match tag escapechar globalknownhostsfile userknownhostsfile connectionattempts batchmode ' +
    'checkhostip stricthostkeychecking compression tcpkeepalive keepalive numberofpasswordprompts syslogfacility loglevel ' +
    'logverbose dynamicforward preferredauthentications hostkeyalgorithms casignaturealgorithms bindaddress bindinterface ' +
    'clearallforwardings enablesshkeysign verifyhostkeydns nohostauthenticationforlocalhost rekeylimit connecttimeout ' +
    'addressfamily serveraliveinterval serveralivecountmax sendenv setenv controlpath controlmaster controlpersist ' +
    'hashknownhosts include tunnel tunneldevice localcommand permitlocalcommand remotecommand visualhostkey kexalgorithms ' +
    'ipqos requesttty sessiontype stdinnull forkafterauthentication proxyusefdpass canonicaldomains canonicalizefallbacklocal ' +
    'canonicalizehostname canonicalizemaxdots canonicalizepermittedcnames streamlocalbindmask streamlocalbindunlink ' +
    'revokedhostkeys fingerprinthash updatehostkeys hostbasedacceptedalgorithms hostbasedkeytypes pubkeyacceptedalgorithms ' +
    'pubkeyacceptedkeytypes ignoreunknown proxyjump securitykeyprovider knownhostscommand requiredrsasize ' +
    'enableescapecommandline obscurekeystroketiming channeltimeout versionaddendum refuseconnection warnweakcrypto useblacklistedkeys'
  ).split(' '),
);

/** Keywords only one platform's ssh knows: Apple's reads `UseKeychain` (the passphrase of a key kept in the macOS Keychain). */
const PLATFORM_KEYWORDS: Record<string, NodeJS.Platform> = { usekeychain: 'darwin' };

/** Whether the ssh of `platform` knows a keyword (lowercase): others earn a warning unless IgnoreUnknown names them. */
export function knownKeyword(key: string, platform: NodeJS.Platform = process.platform): boolean {
  return KNOWN_KEYWORDS.has(key) || PLATFORM_KEYWORDS[key] === platform;
}

/** Old names readconf.c reads as the same option (the first of either wins). */
const SYNONYMS: Record<string, string> = { pubkeyacceptedkeytypes: 'pubkeyacceptedalgorithms', hostbasedkeytypes: 'hostbasedacceptedalgorithms' };

function canonicalKey(key: string): string {
  return SYNONYMS[key] ?? key;
}

/** One file's lines, read one at a time (a caller may pause between them); unreadable ones come as problems naming file:line. */
export function* configLines(text: string, file: string): Generator<ConfigLine | { problem: string }> {
  let start = 0;
  for (let n = 1; start <= text.length; n++) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const t = tokenizeLine(text.slice(start, end));
    start = end + 1;
    if (t === undefined) continue;
    if ('error' in t) yield { problem: `${file}:${n}: ${t.error}; line skipped.` };
    else yield { file, line: n, keyword: t.keyword, key: canonicalKey(t.keyword.toLowerCase()), args: t.args, rest: t.rest };
  }
}
