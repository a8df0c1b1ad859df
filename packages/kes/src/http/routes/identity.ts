// /v1/policy/* and /v1/identity/* — read-only views of the policies and identities of the config.
import { KesError } from '../../errors.js';
import { validateName } from '../../service/names.js';
import type { NamedPolicy, PolicySet } from '../../auth/policy.js';
import { route, type AppDeps, type Route } from '../route.js';

function rules(patterns: string[]): Record<string, Record<string, never>> {
  return Object.fromEntries(patterns.map((p) => [p, {}]));
}

function readPolicy(p: NamedPolicy, set: PolicySet): Record<string, unknown> {
  return {
    name: p.name,
    ...(p.allow.length ? { allow: rules(p.allow) } : {}),
    ...(p.deny.length ? { deny: rules(p.deny) } : {}),
    created_at: set.createdAt,
    created_by: set.admin ?? '',
  };
}

/** A list pattern: a prefix, with an optional trailing '*'. */
function matcher(pattern: string): (s: string) => boolean {
  const prefix = pattern.endsWith('*') ? pattern.slice(0, -1) : pattern;
  return (s) => s.startsWith(prefix);
}

// `deps.policies` is read on every call: a reload (SIGHUP) may replace it.
export function identityRoutes(deps: AppDeps): Route[] {
  const policyNamed = (name: string) => {
    validateName(name, 'policy');
    const p = deps.policies.policy(name);
    if (!p) throw new KesError(404, 'policy does not exist');
    return p;
  };
  return [
    route('GET', '/v1/policy/describe/', {}, (c) => {
      const p = policyNamed(c.resource);
      return { json: { name: p.name, created_at: deps.policies.createdAt, created_by: deps.policies.admin ?? '' } };
    }),
    route('GET', '/v1/policy/read/', {}, (c) => ({ json: readPolicy(policyNamed(c.resource), deps.policies) })),
    route('GET', '/v1/policy/list/', {}, (c) => ({
      json: { names: deps.policies.policyNames().filter(matcher(c.resource)), continue_at: '' },
    })),
    route('GET', '/v1/identity/describe/', {}, (c) => {
      const id = c.resource.toLowerCase();
      if (deps.policies.isAdmin(id)) return { json: { admin: true, created_at: deps.policies.createdAt } };
      const p = deps.policies.policyOf(id);
      if (!p) throw new KesError(404, 'identity does not exist');
      return { json: { policy: p.name, created_at: deps.policies.createdAt, created_by: deps.policies.admin ?? '' } };
    }),
    route('GET', '/v1/identity/list/', {}, (c) => ({
      json: { identities: deps.policies.identities().filter(matcher(c.resource.toLowerCase())), continue_at: '' },
    })),
    route('GET', '/v1/identity/self/describe', { access: 'client' }, (c) => {
      const id = c.identity ?? '';
      if (deps.policies.isAdmin(id)) return { json: { identity: id, admin: true, created_at: deps.policies.createdAt } };
      const p = deps.policies.policyOf(id);
      return {
        json: {
          identity: id,
          created_at: deps.policies.createdAt,
          ...(p ? { created_by: deps.policies.admin ?? '', policy: readPolicy(p, deps.policies) } : {}),
        },
      };
    }),
  ];
}
