// What the bench records: per figure, the samples of each side (one per round), and how the
// medians compare: engine / ssh against the targets, and the engine against each Node peer.

/** The clients under test: the engine, OpenSSH's ssh, a plain Node TCP proxy (no SSH), and two Node tunnels. */
export type SideName = 'engine' | 'openssh' | 'proxy' | 'ssh2' | 'tunnelSsh';

export const SIDE_ORDER: SideName[] = ['engine', 'openssh', 'proxy', 'ssh2', 'tunnelSsh'];

export const SIDE_LABELS: Record<SideName, string> = {
  engine: 'engine',
  openssh: 'ssh',
  proxy: 'plain Node proxy',
  ssh2: 'ssh2 forwardOut (noDelay)',
  tunnelSsh: 'tunnel-ssh',
};

/** The Node tunnels the engine should be ahead of (the plain proxy carries no SSH: a floor, not a peer). */
export const NODE_PEERS: SideName[] = ['ssh2', 'tunnelSsh'];

export interface Figure {
  name: string;
  unit: string;
  better: 'higher' | 'lower';
  /** A bound on engine / ssh, or on the engine's own value (`absolute`). */
  target?: { ratio?: number; absolute?: number };
  /** One sample per round (or per process, for cold figures), for each side measured. */
  samples: Partial<Record<SideName, number[]>>;
}

export function figure(name: string, unit: string, better: Figure['better'], target?: Figure['target']): Figure {
  return { name, unit, better, target, samples: {} };
}

export function record(f: Figure, side: SideName, value: number): void {
  (f.samples[side] ??= []).push(value);
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export interface Row extends Figure {
  median: Partial<Record<SideName, number>>;
  /** engine / side, for every other side measured. */
  engineOver: Partial<Record<SideName, number>>;
  /** plain Node proxy / ssh: what Node alone costs against ssh. */
  proxyOverSsh?: number;
  /** Whether the engine met the target (undefined: no target, or no engine sample). */
  ok?: boolean;
}

export function summarize(f: Figure): Row {
  const med: Row['median'] = {};
  for (const side of SIDE_ORDER) {
    const s = f.samples[side];
    if (s?.length) med[side] = median(s);
  }
  const engineOver: Row['engineOver'] = {};
  if (med.engine !== undefined) {
    for (const side of SIDE_ORDER) if (side !== 'engine' && med[side] !== undefined) engineOver[side] = med.engine / med[side]!;
  }
  const proxyOverSsh = med.proxy !== undefined && med.openssh !== undefined ? med.proxy / med.openssh : undefined;
  let ok: boolean | undefined;
  if (f.target?.absolute !== undefined && med.engine !== undefined) ok = f.better === 'higher' ? med.engine >= f.target.absolute : med.engine <= f.target.absolute;
  else if (f.target?.ratio !== undefined && engineOver.openssh !== undefined) ok = f.better === 'higher' ? engineOver.openssh >= f.target.ratio : engineOver.openssh <= f.target.ratio;
  return { ...f, median: med, engineOver, proxyOverSsh, ok };
}

/** Whether the engine's median is better than `side`'s on this figure. */
export function engineAhead(row: Row, side: SideName): boolean | undefined {
  const r = row.engineOver[side];
  if (r === undefined) return undefined;
  return row.better === 'higher' ? r > 1 : r < 1;
}

export function fmt(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toFixed(3);
}

/** One line per figure as soon as it is measured. */
export function logFigure(f: Figure): void {
  const row = summarize(f);
  const values = SIDE_ORDER.filter((s) => row.median[s] !== undefined).map((s) => `${SIDE_LABELS[s]} ${fmt(row.median[s]!)}`);
  const ratios = SIDE_ORDER.filter((s) => row.engineOver[s] !== undefined).map((s) => `/${SIDE_LABELS[s]} ${row.engineOver[s]!.toFixed(2)}×`);
  console.log(`  ${f.name} (${f.unit}): ${values.join(', ')}${ratios.length ? `; engine ${ratios.join(', ')}` : ''}`);
}

function targetText(row: Row): string {
  const sign = row.better === 'higher' ? '≥' : '≤';
  if (row.target?.absolute !== undefined) return `${sign} ${row.target.absolute} ${row.unit}`;
  if (row.target?.ratio !== undefined) return `${sign} ${row.target.ratio.toFixed(2)}×`;
  return '';
}

/** The closing tables: medians of every side, then the ratios (engine / ssh, and engine / each Node peer). */
export function tables(rows: Row[]): string {
  const shown = SIDE_ORDER.filter((s) => rows.some((r) => r.median[s] !== undefined));
  const cell = (v: number | undefined) => (v === undefined ? '' : fmt(v));
  const values = [
    `| figure | unit | ${shown.map((s) => SIDE_LABELS[s]).join(' | ')} |`,
    `| --- | --- |${shown.map(() => ' ---: |').join('')}`,
    ...rows.map((r) => `| ${r.name} | ${r.unit} | ${shown.map((s) => cell(r.median[s])).join(' | ')} |`),
  ];
  const peers = NODE_PEERS.filter((s) => shown.includes(s));
  const ratio = (r: Row, side: SideName) => {
    const v = r.engineOver[side];
    if (v === undefined) return '';
    return `${v.toFixed(2)}×${NODE_PEERS.includes(side) ? (engineAhead(r, side) ? ' ahead' : ' behind') : ''}`;
  };
  const ratios = [
    `| figure | engine / ssh | target | met | plain Node proxy / ssh |${peers.map((s) => ` engine / ${SIDE_LABELS[s]} |`).join('')}`,
    `| --- | ---: | --- | --- | ---: |${peers.map(() => ' ---: |').join('')}`,
    ...rows.map((r) => {
      const met = r.ok === undefined ? '' : r.ok ? 'yes' : 'no';
      const proxy = r.proxyOverSsh === undefined ? '' : `${r.proxyOverSsh.toFixed(2)}×`;
      return `| ${r.name} | ${ratio(r, 'openssh')} | ${targetText(r)} | ${met} | ${proxy} |${peers.map((s) => ` ${ratio(r, s)} |`).join('')}`;
    }),
  ];
  const lines = [values.join('\n'), '', ratios.join('\n')];
  for (const peer of peers) {
    const compared = rows.filter((r) => r.engineOver[peer] !== undefined);
    const ahead = compared.filter((r) => engineAhead(r, peer));
    lines.push('', `engine ahead of ${SIDE_LABELS[peer]} on ${ahead.length} of ${compared.length} figures${ahead.length < compared.length ? ` (behind on: ${compared.filter((r) => !engineAhead(r, peer)).map((r) => r.name).join('; ')})` : ''}`);
  }
  return lines.join('\n');
}
