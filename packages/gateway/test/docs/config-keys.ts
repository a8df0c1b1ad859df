// Every key a zod config schema accepts, as dotted paths: `kms.endpoints`, `backend.blobs.s3.endpoint`,
// `policy.*.allow` (a record's keys are the reader's own names), `console.users[].accessKey` (a list of
// mappings). Wrappers (optional, default, transform, refine) are looked through; a key whose value is
// a union of mappings lists the keys of every member.
import type { z } from 'zod';

interface Def {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  in?: z.ZodType;
  out?: z.ZodType;
  element?: z.ZodType;
  valueType?: z.ZodType;
  options?: z.ZodType[];
}

function defOf(schema: z.ZodType): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

/** The placeholder written for a record's keys (a policy name, an API path). */
export const RECORD_KEY = '*';

export function configKeys(schema: z.ZodType, prefix = ''): string[] {
  const def = defOf(schema);
  switch (def.type) {
    case 'object': {
      const keys: string[] = [];
      for (const [name, child] of Object.entries(def.shape ?? {})) {
        const path = prefix ? `${prefix}.${name}` : name;
        keys.push(path, ...configKeys(child, path));
      }
      return keys;
    }
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'catch':
    case 'readonly':
      return configKeys(def.innerType!, prefix);
    case 'pipe':
      // A transform is a pipe from the schema that reads the input to the transform: the input names the keys.
      return configKeys(def.in!, prefix);
    case 'array':
      return configKeys(def.element!, `${prefix}[]`);
    case 'record':
      return configKeys(def.valueType!, `${prefix}.${RECORD_KEY}`);
    case 'union':
      return [...new Set((def.options ?? []).flatMap((o) => configKeys(o, prefix)))];
    default:
      return [];
  }
}
