// The rehearsal NetHSM's namespace and user routes: users, passphrases, tags.
import {
  ID_PATTERN,
  NETHSM_API_PREFIX,
  NetHsmRefusal,
  UserPassphraseRequest,
  checkId,
  checkUserId,
  empty,
  json,
  parseBody,
  randomId,
  splitUserId,
  admin,
  rootAdmin,
  adminOrOperator,
  jsonBody,
  RouteKit,
} from './rehearsal-model.ts';

export function addUserRoutes({ add, need, s, d }: RouteKit): void {
  // Namespaces
  add('GET', '/namespaces', rootAdmin, () =>
    json(
      200,
      [...s().namespaces].sort().map((id) => ({ id })),
    ),
  );
  add('PUT', '/namespaces/{NamespaceID}', rootAdmin, ({ params }) => {
    const id = checkId(params.NamespaceID, 'NamespaceID');
    if (s().namespaces.includes(id)) throw new NetHsmRefusal('conflict', `namespace ${id} exists`);
    s().namespaces.push(id);
    d.markChanged();
    return empty(204);
  });
  add('DELETE', '/namespaces/{NamespaceID}', rootAdmin, ({ params }) => {
    const id = checkId(params.NamespaceID, 'NamespaceID');
    if (!s().namespaces.includes(id)) throw new NetHsmRefusal('not-found', `no namespace ${id}`);
    s().namespaces = s().namespaces.filter((n) => n !== id);
    for (const storeId of Object.keys(s().keys))
      if (storeId.startsWith(`${id}/`)) delete s().keys[storeId];
    d.markChanged();
    return empty(204);
  });

  // Users
  add('GET', '/users', admin, ({ caller }) => {
    const c = need(caller);
    const users = Object.keys(s().users)
      .filter((id) => c.namespace === '' || splitUserId(id).namespace === c.namespace)
      .sort()
      .map((user) => ({ user }));
    return json(200, users);
  });
  add('POST', '/users', { ...admin, ...jsonBody }, ({ caller, request }) => {
    const c = need(caller);
    const id = c.namespace === '' ? randomId() : `${c.namespace}~${randomId()}`;
    d.createUser(c, id, request.body);
    return json(201, { id }, { location: `${NETHSM_API_PREFIX}/users/${id}` });
  });
  add('GET', '/users/{UserID}', adminOrOperator, ({ caller, params }) => {
    const c = need(caller);
    const { id, user } = d.user(params.UserID);
    if (c.namespace !== '') d.sameNamespace(c, id);
    return json(200, { realName: user.realName, role: user.role });
  });
  add('PUT', '/users/{UserID}', { ...admin, ...jsonBody }, ({ caller, params, request }) => {
    d.createUser(need(caller), checkUserId(params.UserID), request.body);
    return empty(201);
  });
  add('POST', '/users/{UserID}', { ...admin, ...jsonBody }, ({ caller, params, request }) => {
    const raw = params.UserID ?? '';
    const namespace = raw.slice(0, -1);
    if (!raw.endsWith('~') || !ID_PATTERN.test(namespace) || namespace.length > 100)
      throw new NetHsmRefusal('bad-request', "POST /users/{UserID} needs a 'namespace~' prefix");
    const id = `${namespace}~${randomId()}`;
    d.createUser(need(caller), id, request.body);
    return json(201, { id }, { location: `${NETHSM_API_PREFIX}/users/${id}` });
  });
  add('DELETE', '/users/{UserID}', admin, ({ caller, params }) => {
    const c = need(caller);
    const { id } = d.user(params.UserID);
    d.sameNamespace(c, id);
    if (id === c.id) throw new NetHsmRefusal('bad-request', 'cannot delete yourself');
    delete s().users[id];
    d.markChanged();
    return empty(204);
  });
  add(
    'POST',
    '/users/{UserID}/passphrase',
    { ...adminOrOperator, ...jsonBody },
    ({ caller, params, request }) => {
      const c = need(caller);
      const { id, user } = d.user(params.UserID);
      d.sameNamespace(c, id);
      if (c.user.role !== 'Administrator' && id !== c.id)
        throw new NetHsmRefusal('forbidden', 'operators change only their own passphrase');
      const body = parseBody(UserPassphraseRequest, request.body);
      user.passphrase = d.hash(body.passphrase);
      d.markChanged();
      return empty(204);
    },
  );
  add('GET', '/users/{UserID}/tags', adminOrOperator, ({ caller, params }) => {
    const c = need(caller);
    const { id, user } = d.user(params.UserID);
    if (c.namespace !== '') d.sameNamespace(c, id);
    return json(200, user.tags);
  });
  add('PUT', '/users/{UserID}/tags/{Tag}', admin, ({ caller, params }) => {
    const c = need(caller);
    const { id, user } = d.user(params.UserID);
    d.sameNamespace(c, id);
    const tag = checkId(params.Tag, 'Tag');
    if (user.role !== 'Operator')
      throw new NetHsmRefusal('bad-request', 'only Operator users carry tags');
    if (user.tags.includes(tag)) return empty(304);
    user.tags.push(tag);
    d.markChanged();
    return empty(204);
  });
  add('DELETE', '/users/{UserID}/tags/{Tag}', admin, ({ caller, params }) => {
    const c = need(caller);
    const { id, user } = d.user(params.UserID);
    d.sameNamespace(c, id);
    const tag = params.Tag ?? '';
    if (!user.tags.includes(tag))
      throw new NetHsmRefusal('not-found', `the user has no tag ${tag}`);
    user.tags = user.tags.filter((t) => t !== tag);
    d.markChanged();
    return empty(204);
  });
}
