import { hello } from '@kesgate/sse';
export const x: string = hello();
