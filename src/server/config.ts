import { ServerSettings, type HeatcapServerConfig } from '../shared/lspProtocol';

export const DEFAULT_CONFIG: HeatcapServerConfig = {
  codeLensEnabled: ServerSettings.codeLensEnabled.default,
  maxFileSize: ServerSettings.maxFileSize.default,
};

/**
 * The `heatcap` section as a client returns it (`{ codeLens: { enabled }, server: { maxFileSize } }`),
 * each value checked; anything missing or mistyped falls back to its default.
 */
export function configFromSection(section: unknown): HeatcapServerConfig {
  const obj = (v: unknown): Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  const s = obj(section);
  const enabled = obj(s.codeLens).enabled;
  const maxFileSize = obj(s.server).maxFileSize;
  return {
    codeLensEnabled: typeof enabled === 'boolean' ? enabled : DEFAULT_CONFIG.codeLensEnabled,
    maxFileSize:
      typeof maxFileSize === 'number' && Number.isFinite(maxFileSize) && maxFileSize >= 0 ? maxFileSize : DEFAULT_CONFIG.maxFileSize,
  };
}
