export const hello = (): string => 'sse';
