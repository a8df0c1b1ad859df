// ACLs as S3 answers them with ACLs disabled (Object Ownership "bucket owner enforced", AWS's default for
// new buckets): every bucket and object has one grant, the owner's FULL_CONTROL. A request may restate that
// ACL, in a canned x-amz-acl, in x-amz-grant-* headers or in an AccessControlPolicy body; the gateway stores
// no ACLs, so it tells any other ACL apart and the handler refuses it.
import { S3Error } from './errors.js';
import { element, elements, parseXML, rootOf, textOf, type XmlNode } from './xml.js';

const CANNED_ACLS = [
  'private',
  'public-read',
  'public-read-write',
  'authenticated-read',
  'aws-exec-read',
  'bucket-owner-read',
  'bucket-owner-full-control',
  'log-delivery-write',
] as const;

/**
 * Canned ACLs that leave the owner alone with FULL_CONTROL. `bucket-owner-full-control` is one: the writer
 * of every object is the bucket's owner here (and AWS accepts it on ACL-disabled buckets).
 */
const OWNER_ONLY_CANNED: ReadonlySet<string> = new Set(['private', 'bucket-owner-full-control']);

const GRANT_HEADERS = {
  'x-amz-grant-full-control': 'FULL_CONTROL',
  'x-amz-grant-read': 'READ',
  'x-amz-grant-read-acp': 'READ_ACP',
  'x-amz-grant-write': 'WRITE',
  'x-amz-grant-write-acp': 'WRITE_ACP',
} as const;

const PERMISSIONS: ReadonlySet<string> = new Set(Object.values(GRANT_HEADERS));
/** AWS: "An ACL can have up to 100 grants". */
const MAX_GRANTS = 100;

interface Grant {
  grantee: { type: 'id' | 'uri' | 'emailAddress'; value: string };
  permission: string;
}

/** What an ACL amounts to for a gateway whose buckets and objects are all private to their owner. */
export type AclVerdict = 'owner-only' | 'grants-others';

/** Only the owner, with FULL_CONTROL among its permissions (other grants to the owner change nothing). */
function verdictOf(grants: readonly Grant[], ownerId: string): AclVerdict {
  const ownerOnly = grants.every((g) => g.grantee.type === 'id' && g.grantee.value === ownerId);
  return ownerOnly && grants.some((g) => g.permission === 'FULL_CONTROL') ? 'owner-only' : 'grants-others';
}

/** `id="..."`, `uri="..."`, `emailAddress="..."`, comma-separated (quotes optional, as s3-tests sends them). */
function parseGrantees(header: string, value: string): Grant['grantee'][] {
  return value.split(',').map((item) => {
    const m = /^\s*(id|uri|emailaddress)\s*=\s*(?:"([^"]*)"|([^"\s]+))\s*$/i.exec(item);
    if (!m) {
      throw new S3Error(
        'InvalidArgument',
        `${header} must list grantees as id="...", uri="..." or emailAddress="...", separated by commas.`,
        {
          extra: { ArgumentName: header, ArgumentValue: value.slice(0, 256) },
        },
      );
    }
    const type = m[1]!.toLowerCase() === 'emailaddress' ? 'emailAddress' : (m[1]!.toLowerCase() as 'id' | 'uri');
    return { type, value: m[2] ?? m[3] ?? '' };
  });
}

/**
 * The ACL a request states in its x-amz-acl or x-amz-grant-* values (`get` reads one by its lower-case
 * name), or undefined when it states none. → InvalidArgument (an unknown canned ACL, a malformed grantee),
 * InvalidRequest (a canned ACL and grants together, which S3 refuses too)
 */
export function aclOfHeaders(get: (name: string) => string | undefined, ownerId: string): AclVerdict | undefined {
  const canned = get('x-amz-acl');
  const grants: Grant[] = [];
  for (const [name, permission] of Object.entries(GRANT_HEADERS)) {
    const v = get(name);
    if (v !== undefined) grants.push(...parseGrantees(name, v).map((grantee) => ({ grantee, permission })));
  }
  if (canned !== undefined && grants.length > 0)
    throw new S3Error('InvalidRequest', 'Specifying both Canned ACLs and Header Grants is not allowed');
  if (canned !== undefined) {
    const name = canned.trim();
    if (!(CANNED_ACLS as readonly string[]).includes(name)) {
      throw new S3Error('InvalidArgument', `x-amz-acl must be one of ${CANNED_ACLS.join(', ')}; got "${name.slice(0, 64)}".`, {
        extra: { ArgumentName: 'x-amz-acl', ArgumentValue: name.slice(0, 256) },
      });
    }
    return OWNER_ONLY_CANNED.has(name) ? 'owner-only' : 'grants-others';
  }
  return grants.length > 0 ? verdictOf(grants, ownerId) : undefined;
}

/** The refusal of any ACL but the owner's own, saying what would be accepted. */
export function aclNotSupported(): S3Error {
  return new S3Error(
    'AccessControlListNotSupported',
    'The bucket does not allow ACLs: this gateway stores no ACLs and keeps every bucket and object private to its owner; ' +
      'send no ACL, x-amz-acl: private or bucket-owner-full-control, or a grant of FULL_CONTROL to the owner alone.',
  );
}

function malformedACL(message: string): S3Error {
  return new S3Error('MalformedACLError', message);
}

function granteeOf(node: XmlNode): Grant['grantee'] {
  for (const [element, type] of [
    ['ID', 'id'],
    ['URI', 'uri'],
    ['EmailAddress', 'emailAddress'],
  ] as const) {
    const v = textOf(node, element, 'Grantee');
    if (v !== undefined) return { type, value: v.trim() };
  }
  throw malformedACL('Every <Grantee> needs an <ID>, a <URI> or an <EmailAddress>.');
}

/**
 * An AccessControlPolicy body (PutBucketAcl, PutObjectAcl). Its Owner, when given, must be the owner: the
 * gateway does not change who owns anything. → MalformedACLError (S3's code for any ill-formed ACL body),
 * InvalidArgument
 */
export function parseAccessControlPolicy(body: string | Buffer, ownerId: string): AclVerdict {
  try {
    return verdictOf(grantsOfPolicy(body, ownerId), ownerId);
  } catch (err) {
    if (err instanceof S3Error && err.code === 'MalformedXML') throw malformedACL(err.message);
    throw err;
  }
}

function grantsOfPolicy(body: string | Buffer, ownerId: string): Grant[] {
  const root = rootOf(parseXML(body, { arrays: ['Grant'] }), 'AccessControlPolicy');
  const owner = element(root, 'Owner', 'AccessControlPolicy');
  const ownerIdGiven = owner === undefined ? undefined : textOf(owner, 'ID', 'Owner')?.trim();
  if (ownerIdGiven !== undefined && ownerIdGiven !== ownerId) {
    throw new S3Error(
      'InvalidArgument',
      `The ACL names the owner "${ownerIdGiven.slice(0, 64)}"; everything this gateway stores is owned by "${ownerId}".`,
      {
        extra: { ArgumentName: 'Owner' },
      },
    );
  }
  const list = element(root, 'AccessControlList', 'AccessControlPolicy');
  if (list === undefined) throw malformedACL('<AccessControlPolicy> needs an <AccessControlList>.');
  const grants = elements(list, 'Grant', 'AccessControlList').map((g): Grant => {
    const grantee = element(g, 'Grantee', 'Grant');
    const permission = textOf(g, 'Permission', 'Grant')?.trim();
    if (grantee === undefined || permission === undefined) throw malformedACL('Every <Grant> needs a <Grantee> and a <Permission>.');
    if (!PERMISSIONS.has(permission))
      throw malformedACL(`<Permission> must be one of ${[...PERMISSIONS].join(', ')}; got "${permission.slice(0, 64)}".`);
    return { grantee: granteeOf(grantee), permission };
  });
  if (grants.length > MAX_GRANTS) throw malformedACL(`An ACL can have up to ${MAX_GRANTS} grants; this one has ${grants.length}.`);
  return grants;
}

/** The one ACL there is: the owner with FULL_CONTROL, for sendXML(res, 'AccessControlPolicy', ...). */
export function ownerOnlyPolicy(owner: { ID: string; DisplayName: string }): Record<string, unknown> {
  return {
    Owner: owner,
    AccessControlList: {
      Grant: [
        {
          Grantee: { '@_xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance', '@_xsi:type': 'CanonicalUser', ...owner },
          Permission: 'FULL_CONTROL',
        },
      ],
    },
  };
}
