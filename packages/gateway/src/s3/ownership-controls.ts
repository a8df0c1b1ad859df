// The OwnershipControls document (Put/GetBucketOwnershipControls) and the x-amz-object-ownership header of
// CreateBucket. The gateway stores the setting and answers it back; whatever it says, the gateway keeps
// every bucket and object private to its owner (see acl.ts).
import type { ObjectOwnership } from '../storage/types.js';
import { S3Error } from './errors.js';
import { elements, parseXML, rootOf, textOf } from './xml.js';

const OBJECT_OWNERSHIPS: readonly ObjectOwnership[] = ['BucketOwnerEnforced', 'BucketOwnerPreferred', 'ObjectWriter'];

function ownershipOf(value: string): ObjectOwnership | undefined {
  return OBJECT_OWNERSHIPS.find((o) => o === value);
}

/** `<OwnershipControls><Rule><ObjectOwnership>...</ObjectOwnership></Rule></OwnershipControls>`, one rule. → MalformedXML */
export function parseOwnershipControls(body: string | Buffer): ObjectOwnership {
  const root = rootOf(parseXML(body, { arrays: ['Rule'] }), 'OwnershipControls');
  const rules = elements(root, 'Rule', 'OwnershipControls');
  if (rules.length !== 1) throw new S3Error('MalformedXML', `OwnershipControls must hold exactly one <Rule>; got ${rules.length}.`);
  const value = textOf(rules[0]!, 'ObjectOwnership', 'Rule')?.trim();
  if (value === undefined) throw new S3Error('MalformedXML', '<Rule> needs an <ObjectOwnership>.');
  const ownership = ownershipOf(value);
  if (!ownership)
    throw new S3Error('MalformedXML', `ObjectOwnership must be one of ${OBJECT_OWNERSHIPS.join(', ')}; got "${value.slice(0, 64)}".`);
  return ownership;
}

export function ownershipControlsDocument(ownership: ObjectOwnership): Record<string, unknown> {
  return { Rule: { ObjectOwnership: ownership } };
}

/** CreateBucket's x-amz-object-ownership. → InvalidArgument */
export function parseObjectOwnershipHeader(value: string): ObjectOwnership {
  const ownership = ownershipOf(value.trim());
  if (!ownership) {
    throw new S3Error(
      'InvalidArgument',
      `x-amz-object-ownership must be one of ${OBJECT_OWNERSHIPS.join(', ')}; got "${value.slice(0, 64)}".`,
      {
        extra: { ArgumentName: 'x-amz-object-ownership', ArgumentValue: value.slice(0, 256) },
      },
    );
  }
  return ownership;
}
