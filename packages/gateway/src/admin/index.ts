// The gateway's admin API (/kesgate/admin/v1): status, rotation jobs, object inspection; and its client.
export { startGatewayWithAdmin, type AdminGateway } from './admin.js';
export { AdminClient, AdminRequestError } from './client.js';
