import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bytesToHex, hexToBytes } from '../../../../electron/formats/der.ts';
import {
  CommandCode,
  decodeFrame,
  encodeFrame,
} from '../../../../electron/devices/yubihsm2/protocol.ts';
import {
  SecureChannelError,
  SessionState,
  aesCmac,
  authenticateSessionFrame,
  checkAuthenticateSession,
  keysFromPassword,
  padIso9797,
  sessionSecrets,
} from '../../../../electron/devices/yubihsm2/secure-channel.ts';
import { readReferenceJson } from '../../../helpers/shared-reference.ts';

interface Scp03Vector {
  password: string;
  k_enc: string;
  k_mac: string;
  pbkdf2_utf8_check: { password_utf8_hex: string; k_enc: string; k_mac: string; note: string };
  host_challenge: string;
  create_session_request_frame: string;
  create_session_response_frame: string;
  session_id: number;
  card_challenge: string;
  s_enc: string;
  s_mac: string;
  s_rmac: string;
  card_cryptogram_received: string;
  host_cryptogram: string;
  authenticate_session_frame: string;
  mac_chain_after_authenticate: string;
  first_secure_command: {
    inner_frame: string;
    padded_inner: string;
    session_message_frame: string;
    mac_chain_after: string;
  };
}

const vector = readReferenceJson<Scp03Vector>('yubihsm-scp03-test-vector.json');

function vectorSession(): SessionState {
  const secrets = sessionSecrets(
    keysFromPassword(vector.password),
    hexToBytes(vector.host_challenge),
    hexToBytes(vector.card_challenge),
  );
  const { chain } = authenticateSessionFrame(vector.session_id, secrets);
  return new SessionState(vector.session_id, secrets.keys, chain);
}

describe('YubiHSM 2 session keys (Yubico test vector)', () => {
  it('derives K-ENC and K-MAC from the default password with PBKDF2-SHA256', () => {
    const keys = keysFromPassword(vector.password);
    assert.equal(bytesToHex(keys.encryptionKey), vector.k_enc);
    assert.equal(bytesToHex(keys.macKey), vector.k_mac);
  });

  it('hashes the raw UTF-8 of the password without Unicode normalisation', () => {
    const password = new TextDecoder().decode(
      hexToBytes(vector.pbkdf2_utf8_check.password_utf8_hex),
    );
    const keys = keysFromPassword(password);
    assert.equal(bytesToHex(keys.encryptionKey), vector.pbkdf2_utf8_check.k_enc);
    assert.equal(bytesToHex(keys.macKey), vector.pbkdf2_utf8_check.k_mac);
    const normalised = keysFromPassword(password.normalize('NFC'));
    assert.notEqual(bytesToHex(normalised.encryptionKey), vector.pbkdf2_utf8_check.k_enc);
  });

  it('builds the CREATE_SESSION request the vector gives', () => {
    const payload = Uint8Array.of(0, 1, ...hexToBytes(vector.host_challenge));
    assert.equal(
      bytesToHex(encodeFrame(CommandCode.createSession, payload)),
      vector.create_session_request_frame,
    );
  });

  it('derives S-ENC, S-MAC, S-RMAC and the card cryptogram the device sent', () => {
    const response = decodeFrame(hexToBytes(vector.create_session_response_frame));
    assert.equal(response.command, CommandCode.createSession | 0x80);
    const cardChallenge = response.payload.subarray(1, 9);
    const secrets = sessionSecrets(
      keysFromPassword(vector.password),
      hexToBytes(vector.host_challenge),
      cardChallenge,
    );
    assert.equal(bytesToHex(secrets.keys.sEnc), vector.s_enc);
    assert.equal(bytesToHex(secrets.keys.sMac), vector.s_mac);
    assert.equal(bytesToHex(secrets.keys.sRmac), vector.s_rmac);
    assert.equal(bytesToHex(secrets.cardCryptogram), vector.card_cryptogram_received);
    assert.equal(bytesToHex(response.payload.subarray(9, 17)), vector.card_cryptogram_received);
    assert.equal(bytesToHex(secrets.hostCryptogram), vector.host_cryptogram);
  });

  it('builds the AUTHENTICATE_SESSION frame and the MAC chain it starts', () => {
    const secrets = sessionSecrets(
      keysFromPassword(vector.password),
      hexToBytes(vector.host_challenge),
      hexToBytes(vector.card_challenge),
    );
    const { frame, chain } = authenticateSessionFrame(vector.session_id, secrets);
    assert.equal(bytesToHex(frame), vector.authenticate_session_frame);
    assert.equal(bytesToHex(chain), vector.mac_chain_after_authenticate);
    assert.deepEqual(checkAuthenticateSession(frame, vector.session_id, secrets), chain);
    const wrong = sessionSecrets(
      keysFromPassword('not the password'),
      hexToBytes(vector.host_challenge),
      hexToBytes(vector.card_challenge),
    );
    assert.throws(
      () => checkAuthenticateSession(frame, vector.session_id, wrong),
      (e: unknown) => e instanceof SecureChannelError && e.kind === 'host-cryptogram',
    );
  });

  it('encrypts and MACs the first session message byte for byte', () => {
    const session = vectorSession();
    const inner = hexToBytes(vector.first_secure_command.inner_frame);
    assert.equal(bytesToHex(padIso9797(inner)), vector.first_secure_command.padded_inner);
    const frame = session.wrapCommand(inner);
    assert.equal(bytesToHex(frame), vector.first_secure_command.session_message_frame);
    assert.equal(bytesToHex(session.chain), vector.first_secure_command.mac_chain_after);
  });

  it('round-trips commands and responses between host and device state', () => {
    const host = vectorSession();
    const device = vectorSession();
    for (let i = 0; i < 3; i++) {
      const inner = encodeFrame(0x51, Uint8Array.of(0, 8 + i));
      assert.deepEqual(device.unwrapCommand(host.wrapCommand(inner)), inner);
      const reply = encodeFrame(0xd1, new Uint8Array(8 + i).fill(i));
      assert.deepEqual(host.unwrapResponse(device.wrapResponse(reply)), reply);
    }
    assert.equal(host.counter, 4);
    assert.equal(device.counter, 4);
  });

  it('rejects a response whose MAC or session id was altered', () => {
    const host = vectorSession();
    const device = vectorSession();
    device.unwrapCommand(host.wrapCommand(encodeFrame(0x51, Uint8Array.of(0, 8))));
    const reply = device.wrapResponse(encodeFrame(0xd1, new Uint8Array(8)));
    const flipped = reply.slice();
    flipped[5] = (flipped[5] ?? 0) ^ 1;
    assert.throws(
      () => host.unwrapResponse(flipped),
      (e: unknown) => e instanceof SecureChannelError && e.kind === 'response-mac',
    );
    const otherSession = reply.slice();
    otherSession[3] = 7;
    assert.throws(
      () => host.unwrapResponse(otherSession),
      (e: unknown) => e instanceof SecureChannelError && e.kind === 'session-id',
    );
  });

  it('computes AES-CMAC as RFC 4493 example 1–4 state', () => {
    const key = hexToBytes('2b7e151628aed2a6abf7158809cf4f3c');
    const message = hexToBytes(
      '6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710',
    );
    assert.equal(bytesToHex(aesCmac(key, new Uint8Array(0))), 'bb1d6929e95937287fa37d129b756746');
    assert.equal(
      bytesToHex(aesCmac(key, message.subarray(0, 16))),
      '070a16b46b4d4144f79bdd9dd04a287c',
    );
    assert.equal(
      bytesToHex(aesCmac(key, message.subarray(0, 40))),
      'dfa66747de9ae63030ca32611497c827',
    );
    assert.equal(bytesToHex(aesCmac(key, message)), '51f0bebf7e3b9d92fc49741779363cfe');
  });
});
