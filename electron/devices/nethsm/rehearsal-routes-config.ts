// The rehearsal NetHSM's configuration routes (system-wide Administrators only): passphrases,
// unattended boot, TLS, network, logging, time, backup and restore.
import { X509Certificate } from 'node:crypto';
import { encodePem } from '../../formats/pem.ts';
import { backupKeyMatches, deriveNetHsmBackupKey } from './backup.ts';
import { certificationRequest, subjectPublicKeyInfo } from './rehearsal-crypto.ts';
import {
  DistinguishedName,
  LoggingRequest,
  NetHsmRefusal,
  NetworkConfig,
  NetworkRequest,
  PassphraseChangeRequest,
  TimeRequest,
  TlsGenerateRequest,
  UnattendedBootRequest,
  b64,
  backupKeyOf,
  createTlsIdentity,
  empty,
  json,
  parseBody,
  parseCertificatePem,
  pemResponse,
  secretOf,
  storedBackupKey,
  timeText,
  tlsMaterial,
  unb64,
  rootAdmin,
  jsonBody,
  RouteKit,
} from './rehearsal-model.ts';

export function addConfigRoutes({ add, s, d }: RouteKit): void {
  // Configuration (system-wide Administrators only)
  add('PUT', '/config/unlock-passphrase', { ...rootAdmin, ...jsonBody }, ({ request }) => {
    const body = parseBody(PassphraseChangeRequest, request.body);
    if (!d.checkPassphrase(body.currentPassphrase, s().unlockPassphrase))
      throw new NetHsmRefusal('forbidden', 'the current unlock passphrase is wrong');
    s().unlockPassphrase = d.hash(body.newPassphrase);
    d.markChanged();
    return empty(204);
  });
  add('PUT', '/config/backup-passphrase', { ...rootAdmin, ...jsonBody }, ({ request }) => {
    const body = parseBody(PassphraseChangeRequest, request.body);
    const current = s().backupKey;
    const matches =
      current === undefined
        ? body.currentPassphrase === ''
        : secretOf(body.currentPassphrase).use((bytes) =>
            backupKeyMatches(backupKeyOf(current), bytes),
          );
    if (!matches) throw new NetHsmRefusal('forbidden', 'the current backup passphrase is wrong');
    s().backupKey = storedBackupKey(
      secretOf(body.newPassphrase).use((bytes) => deriveNetHsmBackupKey(bytes)),
    );
    d.markChanged();
    return empty(204);
  });
  add('GET', '/config/unattended-boot', rootAdmin, () =>
    json(200, { status: s().unattendedBoot ? 'on' : 'off' }),
  );
  add('PUT', '/config/unattended-boot', { ...rootAdmin, ...jsonBody }, ({ request }) => {
    s().unattendedBoot = parseBody(UnattendedBootRequest, request.body).status === 'on';
    d.markChanged();
    return empty(204);
  });
  add('GET', '/config/tls/public.pem', { ...rootAdmin, responseMedia: 'pem' }, () =>
    pemResponse(encodePem('PUBLIC KEY', subjectPublicKeyInfo(tlsMaterial(s().tls)))),
  );
  add('GET', '/config/tls/cert.pem', { ...rootAdmin, responseMedia: 'pem' }, () =>
    pemResponse(encodePem('CERTIFICATE', unb64(s().tls.certificate))),
  );
  add('PUT', '/config/tls/cert.pem', { ...rootAdmin, requestMedia: 'pem' }, ({ request }) => {
    const der = parseCertificatePem(request.body);
    const certificate = new X509Certificate(der);
    const ours = b64(subjectPublicKeyInfo(tlsMaterial(s().tls)));
    const theirs = b64(
      new Uint8Array(certificate.publicKey.export({ format: 'der', type: 'spki' })),
    );
    if (ours !== theirs)
      throw new NetHsmRefusal('bad-request', 'the certificate is not for the TLS key');
    if (
      s().clusterCa &&
      !certificate.verify(new X509Certificate(unb64(s().clusterCa ?? '')).publicKey)
    )
      throw new NetHsmRefusal('wrong-state', 'the certificate is not signed by the cluster CA');
    s().tls.certificate = b64(der);
    d.markChanged();
    return empty(201);
  });
  add(
    'POST',
    '/config/tls/csr.pem',
    { ...rootAdmin, ...jsonBody, responseMedia: 'pem' },
    ({ request }) => {
      const dn = parseBody(DistinguishedName, request.body);
      return pemResponse(
        encodePem('CERTIFICATE REQUEST', certificationRequest(tlsMaterial(s().tls), dn)),
      );
    },
  );
  add('POST', '/config/tls/generate', { ...rootAdmin, ...jsonBody }, async ({ request }) => {
    const body = parseBody(TlsGenerateRequest, request.body);
    // hsm.ml `generate_x509`: RSA takes 1024..8192 bits, the other types ignore `length`.
    const length = body.length ?? 0;
    if (body.type === 'RSA' && (length < 1024 || length > 8192))
      throw new NetHsmRefusal('bad-request', 'RSA key length must be between 1024 and 8192');
    s().tls = await createTlsIdentity(
      body.type,
      body.type === 'RSA' ? length : undefined,
      s().serial,
    );
    d.markChanged();
    return empty(204);
  });
  add('GET', '/config/tls/cluster-ca.pem', { ...rootAdmin, responseMedia: 'pem' }, () => {
    const ca = s().clusterCa;
    if (ca === undefined) throw new NetHsmRefusal('not-found', 'no cluster CA set');
    return pemResponse(encodePem('CERTIFICATE', unb64(ca)));
  });
  add('PUT', '/config/tls/cluster-ca.pem', { ...rootAdmin, requestMedia: 'pem' }, ({ request }) => {
    const der = parseCertificatePem(request.body);
    const ca = new X509Certificate(der);
    if (!ca.ca) throw new NetHsmRefusal('bad-request', 'the certificate is not a CA');
    if (!new X509Certificate(unb64(s().tls.certificate)).verify(ca.publicKey))
      throw new NetHsmRefusal('wrong-state', 'the TLS certificate is not signed by this CA');
    s().clusterCa = b64(der);
    d.markChanged();
    return empty(201);
  });
  add('GET', '/config/network', rootAdmin, () => json(200, s().network));
  add('PUT', '/config/network', { ...rootAdmin, ...jsonBody }, ({ request }) => {
    const body = parseBody(NetworkRequest, request.body);
    const network: NetworkConfig = {
      ipAddress: body.ipAddress,
      netmask: body.netmask,
      gateway: body.gateway,
    };
    if (body.ipv6)
      network.ipv6 = {
        cidr: body.ipv6.cidr,
        ...(body.ipv6.gateway === null ? {} : { gateway: body.ipv6.gateway }),
      };
    s().network = network;
    d.markChanged();
    return empty(204);
  });
  add('GET', '/config/logging', rootAdmin, () => json(200, s().logging));
  add('PUT', '/config/logging', { ...rootAdmin, ...jsonBody }, ({ request }) => {
    s().logging = parseBody(LoggingRequest, request.body);
    d.markChanged();
    return empty(204);
  });
  add('GET', '/config/time', rootAdmin, () => json(200, { time: timeText(d.now()) }));
  add('PUT', '/config/time', { ...rootAdmin, ...jsonBody }, ({ request }) => {
    d.setTime(parseBody(TimeRequest, request.body).time);
    d.markChanged();
    return empty(204);
  });
}
