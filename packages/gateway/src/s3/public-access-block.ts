// The PublicAccessBlockConfiguration document (Put/GetPublicAccessBlock). The gateway stores it and answers
// it back; nothing it serves is public whatever the flags say.
import type { PublicAccessBlock } from '../storage/types.js';
import { booleanOf, parseXML, rootOf } from './xml.js';

const FLAGS = [
  ['BlockPublicAcls', 'blockPublicAcls'],
  ['IgnorePublicAcls', 'ignorePublicAcls'],
  ['BlockPublicPolicy', 'blockPublicPolicy'],
  ['RestrictPublicBuckets', 'restrictPublicBuckets'],
] as const;

/** A flag left out is false, as AWS reads it. → MalformedXML */
export function parsePublicAccessBlock(body: string | Buffer): PublicAccessBlock {
  const root = rootOf(parseXML(body), 'PublicAccessBlockConfiguration');
  const config = {} as PublicAccessBlock;
  for (const [element, field] of FLAGS) config[field] = booleanOf(root, element, 'PublicAccessBlockConfiguration') ?? false;
  return config;
}

export function publicAccessBlockDocument(config: PublicAccessBlock): Record<string, unknown> {
  return Object.fromEntries(FLAGS.map(([element, field]) => [element, config[field]]));
}
