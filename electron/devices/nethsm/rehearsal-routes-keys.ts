// The rehearsal NetHSM's key routes: list, import, generate, public key, certificates, sign,
// decrypt, encrypt, move, tags, CSRs.
import { encodePem } from '../../formats/pem.ts';
import {
  certificationRequest,
  decryptModeMechanism,
  decryptWith,
  encryptModeMechanism,
  encryptWith,
  generateKeyMaterial,
  mechanismFitsType,
  signModeMechanism,
  signWith,
  subjectPublicKeyInfo,
} from './rehearsal-crypto.ts';
import {
  CERTIFICATE_LIMIT_BYTES,
  DecryptRequest,
  DistinguishedName,
  EncryptRequest,
  ID_PATTERN,
  KeyGenerateRequest,
  MoveRequest,
  NETHSM_API_PREFIX,
  NetHsmRefusal,
  SignRequest,
  b64,
  checkId,
  empty,
  json,
  keyStoreId,
  materialOf,
  octets,
  parseBody,
  pemResponse,
  randomId,
  unb64,
  admin,
  adminOrOperator,
  operator,
  jsonBody,
  RouteKit,
} from './rehearsal-model.ts';

export function addKeyRoutes({ add, need, s, d }: RouteKit): void {
  // Keys
  add('GET', '/keys', adminOrOperator, ({ caller, query }) => d.listKeys(need(caller), '', query));
  add('POST', '/keys', { ...admin, requestMedia: 'json-or-multipart' }, ({ caller, request }) => {
    const id = randomId();
    d.importKey(need(caller), request, id);
    return json(201, { id }, { location: `${NETHSM_API_PREFIX}/keys/${id}` });
  });
  add('POST', '/keys/generate', { ...admin, ...jsonBody }, ({ caller, request }) => {
    const body = parseBody(KeyGenerateRequest, request.body);
    // The firmware's order (json.ml `decode_generate_key_req`, hsm.ml `generate_key`), every
    // refusal a 400. `length` counts for RSA (1024..8192) and Generic (128..8192) only; the
    // fixed-size types ignore it, whatever its value.
    const length = body.length ?? 0;
    if (body.type === 'RSA' && (length < 1024 || length > 8192))
      throw new NetHsmRefusal('bad-request', 'RSA key length must be between 1024 and 8192');
    const misfit = body.mechanisms.find((m) => !mechanismFitsType(m, body.type));
    if (misfit) throw new NetHsmRefusal('bad-request', `${misfit} does not fit a ${body.type} key`);
    if (body.mechanisms.length === 0) throw new NetHsmRefusal('bad-request', 'no mechanisms given');
    if (body.type === 'Generic' && (length < 128 || length > 8192))
      throw new NetHsmRefusal('bad-request', 'Generic key length must be between 128 and 8192');
    const c = need(caller);
    const id = body.id ?? randomId();
    // No 409 is documented for generate: an id in use is invalid input.
    if (s().keys[keyStoreId(c.namespace, id)])
      throw new NetHsmRefusal('bad-request', `key ${id} exists`);
    const material = generateKeyMaterial(
      body.type,
      body.type === 'RSA' || body.type === 'Generic' ? length : undefined,
    );
    d.storeNewKey(c, id, material, body.mechanisms, body.restrictions?.tags);
    return json(201, { id }, { location: `${NETHSM_API_PREFIX}/keys/${id}` });
  });
  add('GET', '/keys/{KeyPrefix}*', adminOrOperator, ({ caller, params, query }) => {
    const prefix = params.KeyPrefix ?? '';
    if (prefix !== '' && !ID_PATTERN.test(prefix))
      throw new NetHsmRefusal('bad-request', 'invalid KeyPrefix');
    return d.listKeys(need(caller), prefix, query);
  });
  add('GET', '/keys/{KeyID}', adminOrOperator, ({ caller, params }) =>
    json(200, d.publicKeyJson(d.key(need(caller), params.KeyID))),
  );
  add(
    'PUT',
    '/keys/{KeyID}',
    { ...admin, requestMedia: 'json-or-multipart' },
    ({ caller, params, request }) => {
      d.importKey(need(caller), request, checkId(params.KeyID, 'KeyID'));
      return empty(204);
    },
  );
  add('DELETE', '/keys/{KeyID}', admin, ({ caller, params }) => {
    const c = need(caller);
    d.key(c, params.KeyID);
    delete s().keys[keyStoreId(c.namespace, params.KeyID ?? '')];
    d.markChanged();
    return empty(204);
  });
  add(
    'GET',
    '/keys/{KeyID}/public.pem',
    { ...adminOrOperator, responseMedia: 'pem' },
    ({ caller, params }) => {
      const key = d.key(need(caller), params.KeyID);
      if (key.type === 'Generic')
        throw new NetHsmRefusal('bad-request', 'Generic keys have no public key');
      return pemResponse(encodePem('PUBLIC KEY', subjectPublicKeyInfo(materialOf(key))));
    },
  );
  add(
    'POST',
    '/keys/{KeyID}/csr.pem',
    { ...adminOrOperator, ...jsonBody, responseMedia: 'pem' },
    ({ caller, params, request }) => {
      const c = need(caller);
      const key = d.key(c, params.KeyID);
      if (c.user.role === 'Operator' && !d.mayUse(c, key))
        throw new NetHsmRefusal('forbidden', 'the key is restricted to other tags');
      const dn = parseBody(DistinguishedName, request.body);
      return pemResponse(
        encodePem('CERTIFICATE REQUEST', certificationRequest(materialOf(key), dn)),
      );
    },
  );
  add('POST', '/keys/{KeyID}/sign', { ...operator, ...jsonBody }, ({ caller, params, request }) => {
    const body = parseBody(SignRequest, request.body);
    const key = d.usableKey(need(caller), params.KeyID, signModeMechanism(body.mode));
    const signature = signWith(materialOf(key), body.mode, unb64(body.message));
    key.operations++;
    d.markChanged();
    return json(200, { signature: b64(signature) });
  });
  add(
    'POST',
    '/keys/{KeyID}/decrypt',
    { ...operator, ...jsonBody },
    ({ caller, params, request }) => {
      const body = parseBody(DecryptRequest, request.body);
      const key = d.usableKey(need(caller), params.KeyID, decryptModeMechanism(body.mode));
      const iv = body.iv === undefined ? undefined : unb64(body.iv);
      const decrypted = decryptWith(materialOf(key), body.mode, unb64(body.encrypted), iv);
      key.operations++;
      d.markChanged();
      return json(200, { decrypted: b64(decrypted) });
    },
  );
  add(
    'POST',
    '/keys/{KeyID}/encrypt',
    { ...operator, ...jsonBody },
    ({ caller, params, request }) => {
      const body = parseBody(EncryptRequest, request.body);
      const key = d.usableKey(need(caller), params.KeyID, encryptModeMechanism(body.mode));
      const iv = body.iv === undefined ? undefined : unb64(body.iv);
      const result = encryptWith(materialOf(key), body.mode, unb64(body.message), iv);
      key.operations++;
      d.markChanged();
      return json(200, { encrypted: b64(result.encrypted), iv: b64(result.iv) });
    },
  );
  add(
    'GET',
    '/keys/{KeyID}/cert',
    { ...adminOrOperator, responseMedia: 'octet' },
    ({ caller, params }) => {
      const key = d.key(need(caller), params.KeyID);
      if (key.certificate === undefined) throw new NetHsmRefusal('not-found', 'no certificate');
      return octets(unb64(key.certificate));
    },
  );
  add(
    'PUT',
    '/keys/{KeyID}/cert',
    { ...admin, requestMedia: 'octet' },
    ({ caller, params, request }) => {
      const key = d.key(need(caller), params.KeyID);
      if (request.body.length === 0) throw new NetHsmRefusal('bad-request', 'empty certificate');
      if (request.body.length > CERTIFICATE_LIMIT_BYTES)
        throw new NetHsmRefusal('bad-request', 'the certificate is larger than 1 MB');
      if (key.certificate !== undefined)
        throw new NetHsmRefusal('conflict', 'the key already has a certificate');
      key.certificate = b64(request.body);
      d.markChanged();
      return empty(201);
    },
  );
  add('DELETE', '/keys/{KeyID}/cert', admin, ({ caller, params }) => {
    const key = d.key(need(caller), params.KeyID);
    if (key.certificate === undefined) throw new NetHsmRefusal('not-found', 'no certificate');
    delete key.certificate;
    d.markChanged();
    return empty(204);
  });
  add('POST', '/keys/{KeyID}/move', { ...admin, ...jsonBody }, ({ caller, params, request }) => {
    const c = need(caller);
    const key = d.key(c, params.KeyID);
    const body = parseBody(MoveRequest, request.body);
    const target = keyStoreId(c.namespace, body.newId);
    if (s().keys[target]) throw new NetHsmRefusal('conflict', `key ${body.newId} exists`);
    delete s().keys[keyStoreId(c.namespace, params.KeyID ?? '')];
    s().keys[target] = key;
    d.markChanged();
    return json(200, { id: body.newId });
  });
  add('PUT', '/keys/{KeyID}/restrictions/tags/{Tag}', admin, ({ caller, params }) => {
    const key = d.key(need(caller), params.KeyID);
    const tag = checkId(params.Tag, 'Tag');
    if (key.tags.includes(tag)) return empty(304);
    key.tags.push(tag);
    d.markChanged();
    return empty(204);
  });
  add('DELETE', '/keys/{KeyID}/restrictions/tags/{Tag}', admin, ({ caller, params }) => {
    const key = d.key(need(caller), params.KeyID);
    const tag = params.Tag ?? '';
    if (!key.tags.includes(tag)) throw new NetHsmRefusal('not-found', `the key has no tag ${tag}`);
    key.tags = key.tags.filter((t) => t !== tag);
    d.markChanged();
    return empty(204);
  });
}
