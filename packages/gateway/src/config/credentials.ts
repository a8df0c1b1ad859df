import type { GatewayConfig } from './load.js';

/** The secret key of an access key of the config (the root credentials or a user), or undefined. */
export function credentialLookup(config: Pick<GatewayConfig, 'credentials' | 'users'>): (accessKey: string) => string | undefined {
  const users = new Map<string, string>([[config.credentials.accessKey, config.credentials.secretKey]]);
  for (const u of config.users) users.set(u.accessKey, u.secretKey);
  return (accessKey) => users.get(accessKey);
}
