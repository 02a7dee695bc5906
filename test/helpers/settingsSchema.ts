// The settings a manifest contributes, whether `contributes.configuration` is one section or
// several (the Settings UI shows each section as a group of its own).
export function contributedSettings<T = unknown>(manifest: { contributes: { configuration: unknown } }): Record<string, T> {
  const sections = ([] as { properties?: Record<string, T> }[]).concat(manifest.contributes.configuration as { properties?: Record<string, T> });
  return Object.assign({}, ...sections.map((s) => s.properties ?? {})) as Record<string, T>;
}
