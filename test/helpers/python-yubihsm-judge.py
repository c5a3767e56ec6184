"""Yubico's python-yubihsm judges a rehearsal YubiHSM 2 through its connector URL.

    python3 python-yubihsm-judge.py provision URL REHEARSAL_CA_PEM
    python3 python-yubihsm-judge.py restarted URL REHEARSAL_CA_PEM

`provision` runs every operation Vigil's ceremonies use, and the misuses a device refuses;
`restarted` (after the device was stopped and loaded from its state file) uses what provision
left, then factory-resets. Each prints one JSON object of what the library saw: the test asserts
on it, so a failure names the operation. Signatures and certificate links are checked here with
python3-cryptography, as a user of python-yubihsm would check them.
"""

import json
import os
import struct
import sys
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from yubihsm import YubiHsm
from yubihsm.defs import ALGORITHM, AUDIT, CAPABILITY, COMMAND, OBJECT, ORIGIN
from yubihsm.exceptions import (
    YubiHsmConnectionError,
    YubiHsmAuthenticationError,
    YubiHsmDeviceError,
)
from yubihsm.objects import (
    AsymmetricKey,
    AttestationExtensions,
    AuthenticationKey,
    HmacKey,
    Opaque,
    WrapKey,
)

PASSWORD = "password"
OPERATOR_PASSWORD = "operator keyholder"
MESSAGE = b"the ceremony's message"


def connect(url):
    """python-yubihsm's own connector backend (it needs python3-requests, which the test
    dependencies install): exactly what a keyholder's script calls."""
    return YubiHsm.connect(url)


def error_of(action):
    """None when the action works, else the device's error name (or the host-side refusal)."""
    try:
        action()
    except YubiHsmDeviceError as error:
        return error.code.name
    except YubiHsmAuthenticationError:
        return "AUTHENTICATION_ERROR"
    return None


def spki(public_key):
    return public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo).hex()


def signed_by(certificate, issuer):
    """True when issuer's key made certificate's signature (ECDSA issuers only: the device's)."""
    try:
        issuer.public_key().verify(
            certificate.signature,
            certificate.tbs_certificate_bytes,
            ec.ECDSA(certificate.signature_hash_algorithm),
        )
    except Exception:  # noqa: BLE001 - any failure is "not signed by"
        return False
    return certificate.issuer == issuer.subject


def verifies(action):
    try:
        action()
    except Exception:  # noqa: BLE001 - InvalidSignature or a malformed signature
        return False
    return True


def device_info(hsm):
    info = hsm.get_device_info()
    return {
        "version": list(info.version),
        "serial": info.serial,
        "partNumber": info.part_number,
        "logSize": info.log_size,
        "logUsed": info.log_used,
        "algorithms": sorted(int(a) for a in info.supported_algorithms),
    }


def storage(session):
    fields = struct.unpack("!HHHHH", session.send_secure_cmd(COMMAND.GET_STORAGE_INFO))
    names = ("totalRecords", "freeRecords", "totalPages", "freePages", "pageSize")
    return dict(zip(names, fields))


def attestation(key, device_certificate, ca, info):
    certificate = key.attest()
    extensions = AttestationExtensions.parse(certificate)
    object_info = key.get_info()
    return {
        "der": certificate.public_bytes(Encoding.DER).hex(),
        "signedByDevice": signed_by(certificate, device_certificate),
        "deviceSignedByCa": signed_by(device_certificate, ca),
        "sameKey": spki(certificate.public_key()) == spki(key.get_public_key()),
        "serial": extensions.serial == info.serial,
        "firmware": list(extensions.firmware_version) == list(info.version),
        "facts": extensions.object_id == key.id
        and extensions.origin == ORIGIN.GENERATED
        and extensions.label == object_info.label
        and extensions.domains == object_info.domains
        and extensions.capabilities == object_info.capabilities,
    }


def log_chain(session):
    _, _, entries = session.get_log_entries()
    return {
        "count": len(entries),
        "valid": all(
            entries[i].validate(entries[i - 1]) for i in range(1, len(entries))
        ),
    }


def provision(url, ca):
    report = {}
    hsm = connect(url)
    info = hsm.get_device_info()
    report["deviceInfo"] = device_info(hsm)
    report["devicePublicKeyCurve"] = hsm.get_device_public_key().curve.name
    echo = os.urandom(300)
    report["plainEcho"] = hsm.send_cmd(COMMAND.ECHO, echo) == echo
    report["wrongPassword"] = error_of(lambda: hsm.create_session_derived(1, "passw0rd"))
    report["missingAuthKey"] = error_of(lambda: hsm.create_session_derived(0x4242, PASSWORD))

    session = hsm.create_session_derived(1, PASSWORD)
    report["sessionEcho"] = session.send_secure_cmd(COMMAND.ECHO, echo) == echo
    first, second = session.get_pseudo_random(64), session.get_pseudo_random(64)
    report["random"] = len(first) == 64 and first != second

    ecdsa = CAPABILITY.SIGN_ECDSA
    rsa_caps = CAPABILITY.SIGN_PKCS | CAPABILITY.SIGN_PSS
    p256 = AsymmetricKey.generate(session, 0, "judge p256", 1, ecdsa, ALGORITHM.EC_P256)
    p384 = AsymmetricKey.generate(session, 0, "judge p384", 1, ecdsa, ALGORITHM.EC_P384)
    eddsa = CAPABILITY.SIGN_EDDSA
    ed = AsymmetricKey.generate(session, 0, "judge ed25519", 1, eddsa, ALGORITHM.EC_ED25519)
    rsa = AsymmetricKey.generate(session, 0, "judge rsa2048", 1, rsa_caps, ALGORITHM.RSA_2048)
    hidden = AsymmetricKey.generate(session, 0, "judge domain 2", 2, ecdsa, ALGORITHM.EC_P256)

    rsa_public = rsa.get_public_key()
    sha256, sha384, sha1 = hashes.SHA256(), hashes.SHA384(), hashes.SHA1()
    pss_max = padding.PSS(padding.MGF1(sha1), padding.PSS.MAX_LENGTH)
    report["signatures"] = {
        "p256": verifies(
            lambda: p256.get_public_key().verify(
                p256.sign_ecdsa(MESSAGE, sha256), MESSAGE, ec.ECDSA(sha256)
            )
        ),
        "p384": verifies(
            lambda: p384.get_public_key().verify(
                p384.sign_ecdsa(MESSAGE, sha384), MESSAGE, ec.ECDSA(sha384)
            )
        ),
        "ed25519": verifies(
            lambda: ed.get_public_key().verify(ed.sign_eddsa(MESSAGE), MESSAGE)
        ),
        "rsaPkcs1": verifies(
            lambda: rsa_public.verify(
                rsa.sign_pkcs1v1_5(MESSAGE, sha256), MESSAGE, padding.PKCS1v15(), sha256
            )
        ),
        "rsaPss": verifies(
            lambda: rsa_public.verify(
                rsa.sign_pss(MESSAGE, 32, sha256),
                MESSAGE,
                padding.PSS(padding.MGF1(sha256), 32),
                sha256,
            )
        ),
        "rsaPssMaxSaltMgf1Sha1": verifies(
            lambda: rsa_public.verify(
                rsa.sign_pss(MESSAGE, 256 - 32 - 2, sha256, mgf_hash=sha1),
                MESSAGE,
                pss_max,
                sha256,
            )
        ),
    }
    report["rsaPublicKey"] = {"bits": rsa_public.key_size, "e": rsa_public.public_numbers().e}
    rsa_info = rsa.get_info()
    report["rsaInfo"] = {
        "algorithm": int(rsa_info.algorithm),
        "size": rsa_info.size,
        "origin": int(rsa_info.origin),
        "label": rsa_info.label,
    }

    device_certificate = Opaque(session, 0).get_certificate()
    report["deviceCertificate"] = device_certificate.public_bytes(Encoding.DER).hex()
    report["deviceCertificateSerial"] = AttestationExtensions.parse(device_certificate).serial
    report["attestations"] = {
        name: attestation(key, device_certificate, ca, info)
        for name, key in (("p256", p256), ("p384", p384), ("ed25519", ed), ("rsa2048", rsa))
    }

    def ids(objects):
        return sorted([o.id, int(o.object_type)] for o in objects)

    report["lists"] = {
        "asymmetric": ids(session.list_objects(object_type=OBJECT.ASYMMETRIC_KEY)),
        "p256": ids(session.list_objects(algorithm=ALGORITHM.EC_P256)),
        "label": ids(session.list_objects(label="judge p384")),
        "eddsa": ids(session.list_objects(capabilities=CAPABILITY.SIGN_EDDSA)),
        "domain2": ids(session.list_objects(domains=2)),
        "defaultKey": ids(
            session.list_objects(object_id=1, object_type=OBJECT.AUTHENTICATION_KEY)
        ),
    }
    report["ids"] = {"p256": p256.id, "p384": p384.id, "ed25519": ed.id, "rsa2048": rsa.id}
    report["ids"]["hidden"] = hidden.id

    data = os.urandom(1500)
    opaque = Opaque.put(session, 0, "judge opaque", 1, CAPABILITY.NONE, ALGORITHM.OPAQUE_DATA, data)
    report["opaque"] = opaque.get() == data
    certificate_object = Opaque.put_certificate(
        session, 0, "judge certificate", 1, CAPABILITY.NONE, device_certificate
    )
    report["opaqueCertificate"] = certificate_object.get_certificate() == device_certificate
    report["opaqueInfo"] = {
        "size": opaque.get_info().size,
        "algorithm": int(certificate_object.get_info().algorithm),
    }

    wrap = WrapKey.generate(
        session,
        0,
        "judge wrap",
        1,
        CAPABILITY.EXPORT_WRAPPED | CAPABILITY.IMPORT_WRAPPED,
        ALGORITHM.AES256_CCM_WRAP,
        CAPABILITY.EXPORTABLE_UNDER_WRAP | CAPABILITY.SIGN_ECDSA,
    )
    wrap_info = wrap.get_info()
    report["wrapInfo"] = {
        "algorithm": int(wrap_info.algorithm),
        "origin": int(wrap_info.origin),
        "delegated": int(wrap_info.delegated_capabilities),
    }
    hmac_caps = CAPABILITY.SIGN_HMAC | CAPABILITY.VERIFY_HMAC
    hmac = HmacKey.generate(session, 0, "judge hmac", 1, hmac_caps, ALGORITHM.HMAC_SHA256)
    mac = hmac.sign_hmac(MESSAGE)
    report["hmac"] = {
        "length": len(mac),
        "stable": hmac.sign_hmac(MESSAGE) == mac,
        "verifies": hmac.verify_hmac(mac, MESSAGE),
        "rejectsOther": not hmac.verify_hmac(bytes(32), MESSAGE),
    }

    report["options"] = {
        "forceAudit": int(session.get_force_audit()),
        "commandAuditOn": all(v == AUDIT.ON for v in session.get_command_audit().values()),
        "rsa2048Enabled": session.get_enabled_algorithms().get(ALGORITHM.RSA_2048, False),
        "fips": error_of(session.get_fips_status),
    }
    report["objectCount"] = len(session.list_objects())
    report["storage"] = storage(session)

    # A keyholder's key: it may sign with ECDSA, read the log and nothing else.
    operator = AuthenticationKey.put_derived(
        session,
        0,
        "judge operator",
        1,
        CAPABILITY.SIGN_ECDSA | CAPABILITY.GET_LOG_ENTRIES,
        CAPABILITY.NONE,
        OPERATOR_PASSWORD,
    )
    limited = hsm.create_session_derived(operator.id, OPERATOR_PASSWORD)
    report["operatorSigns"] = verifies(
        lambda: p256.get_public_key().verify(
            p256.with_session(limited).sign_ecdsa(MESSAGE, sha256), MESSAGE, ec.ECDSA(sha256)
        )
    )
    report["misuse"] = {
        "deleteWithoutCapability": error_of(p256.with_session(limited).delete),
        "generateWithoutCapability": error_of(
            lambda: AsymmetricKey.generate(limited, 0, "no", 1, ecdsa, ALGORITHM.EC_P256)
        ),
        "randomWithoutCapability": error_of(lambda: limited.get_pseudo_random(8)),
        "optionWithoutCapability": error_of(limited.get_force_audit),
        "otherDomain": error_of(lambda: hidden.with_session(limited).sign_ecdsa(MESSAGE)),
        "keyLacksCapability": error_of(lambda: p256.sign_pkcs1v1_5(MESSAGE)),
        "rsaLacksEcdsa": error_of(lambda: rsa.sign_ecdsa(MESSAGE)),
        "hmacLacksCapability": error_of(
            lambda: HmacKey.generate(
                session, 0, "judge hmac verify only", 1, CAPABILITY.VERIFY_HMAC,
                ALGORITHM.HMAC_SHA1,
            ).sign_hmac(MESSAGE)
        ),
        "missingKey": error_of(lambda: AsymmetricKey(session, 0x7777).get_public_key()),
        "missingOpaque": error_of(lambda: Opaque(session, 0x7777).get()),
        "missingWrapKeyInfo": error_of(lambda: WrapKey(session, 0x7777).get_info()),
        "deleteMissing": error_of(HmacKey(session, 0x7777).delete),
        "idTaken": error_of(
            lambda: AsymmetricKey.generate(
                session, p256.id, "again", 1, ecdsa, ALGORITHM.EC_P256
            )
        ),
        "changeOtherKey": error_of(lambda: operator.change_password("another")),
    }
    limited.close()
    operator.delete()
    report["deletedAuthKey"] = error_of(
        lambda: hsm.create_session_derived(operator.id, OPERATOR_PASSWORD)
    )

    p384.delete()
    wrap.delete()
    certificate_object.delete()
    report["afterDelete"] = {
        "p384": error_of(p384.get_info),
        "wrap": error_of(wrap.get_info),
        "opaqueCertificate": error_of(certificate_object.get_info),
        "asymmetric": ids(session.list_objects(object_type=OBJECT.ASYMMETRIC_KEY)),
    }
    report["log"] = log_chain(session)
    session.close()
    report["deviceInfoAfter"] = device_info(hsm)
    hsm.close()
    return report


def restarted(url, ca):
    report = {}
    hsm = connect(url)
    session = hsm.create_session_derived(1, PASSWORD)
    labels = {o.get_info().label: o for o in session.list_objects()}
    report["labels"] = sorted(str(label) for label in labels)
    rsa, hmac, ed = labels["judge rsa2048"], labels["judge hmac"], labels["judge ed25519"]
    sha256 = hashes.SHA256()
    report["rsaStillSigns"] = verifies(
        lambda: rsa.get_public_key().verify(
            rsa.sign_pkcs1v1_5(MESSAGE), MESSAGE, padding.PKCS1v15(), sha256
        )
    )
    report["hmacStillVerifies"] = hmac.verify_hmac(hmac.sign_hmac(MESSAGE), MESSAGE)
    report["ed25519StillSigns"] = verifies(
        lambda: ed.get_public_key().verify(ed.sign_eddsa(MESSAGE), MESSAGE)
    )
    report["opaqueKept"] = len(labels["judge opaque"].get()) == 1500
    report["log"] = log_chain(session)

    session.reset_device()
    deadline = time.monotonic() + 15
    while True:
        try:
            hsm = connect(url)
            break
        except YubiHsmConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    with hsm.create_session_derived(1, PASSWORD) as session:
        objects = session.list_objects()
        default_key = session.get_object(1, OBJECT.AUTHENTICATION_KEY).get_info()
        report["afterReset"] = {
            "objects": sorted([o.id, int(o.object_type)] for o in objects),
            "label": default_key.label,
            "allCapabilities": default_key.capabilities == CAPABILITY.ALL,
            "storage": storage(session),
            "log": log_chain(session),
        }
    hsm.close()
    return report


def main():
    phase, url, ca_file = sys.argv[1:4]
    with open(ca_file, "rb") as f:
        ca = x509.load_pem_x509_certificate(f.read())
    report = provision(url, ca) if phase == "provision" else restarted(url, ca)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
