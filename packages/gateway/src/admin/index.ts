// The gateway's admin API (/kesgate/admin/v1): status, rotation jobs, object inspection; and its client.
export { createAdmin, startGatewayWithAdmin, type Admin, type AdminGateway, type AdminStartOptions } from './admin.js';
export { createAdminRouter, parseRotationRequest, type AdminDeps } from './router.js';
export { AdminClient, AdminRequestError, type AdminClientOptions } from './client.js';
export { signRequest, type SigningCredentials } from './sign.js';
export type { GatewayStatus } from './status.js';
export type { ObjectStatus } from './object-info.js';
export type { KesEndpointState, DefaultKeyState } from './kes-status.js';
