// The only file that touches pkcs11js: loads a module, runs calls one at a time, maps failures to
// Pkcs11CallError. It knows nothing of ceremonies.
import pkcs11js from 'pkcs11js';
import type { SecretBytes } from '../../../shared/model/secret-bytes.ts';
import { KindedError } from '../../base/errors.ts';
import { CKS_FLAGS, ckrName, type AttributeSpec, type CkrName } from './protocol.ts';

export type SlotHandle = Buffer;
export type SessionHandle = Buffer;
export type ObjectHandle = Buffer;

/** A failed call: `kind` names the CK_RV, `ckr` keeps the module's own number. */
export class Pkcs11CallError extends KindedError<CkrName | 'unknown'> {
  readonly name = 'Pkcs11CallError';
  constructor(
    readonly ckr: number,
    readonly method: string,
  ) {
    const kind = ckrName(ckr);
    super(kind, `${method} failed with ${kind === 'unknown' ? `CKR 0x${ckr.toString(16)}` : kind}`);
  }
}

export interface TokenInfo {
  label: string;
  manufacturer: string;
  model: string;
  serial: string;
  flags: number;
  minPinLen: number;
  maxPinLen: number;
}

export interface SlotInfo {
  description: string;
  manufacturer: string;
  flags: number;
}

function rethrow(error: unknown): never {
  if (error instanceof pkcs11js.Pkcs11Error) throw new Pkcs11CallError(error.code, error.method);
  throw error;
}

/** A loaded PKCS#11 module. Every call goes through `exclusive` so a rescan never races a session. */
export class Pkcs11Module {
  readonly #library = new pkcs11js.PKCS11();
  #isLoaded = false;
  #openSessions = 0;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(readonly path: string) {}

  get isLoaded(): boolean {
    return this.#isLoaded;
  }

  load(): void {
    if (this.#isLoaded) return;
    try {
      this.#library.load(this.path);
      this.#library.C_Initialize();
    } catch (error) {
      rethrow(error);
    }
    this.#isLoaded = true;
  }

  /** Serialises access: PKCS#11 modules are not all thread- or re-entrancy-safe. */
  exclusive<T>(work: () => Promise<T> | T): Promise<T> {
    const run = this.#queue.then(work, work);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Some modules (SoftHSM2) read their token store only at C_Initialize. Re-initialising is
   * how we see tokens created or deleted by other processes; never while a session is open.
   */
  reinitialise(): boolean {
    if (this.#openSessions > 0) return false;
    try {
      this.#library.C_Finalize();
      this.#library.C_Initialize();
    } catch (error) {
      rethrow(error);
    }
    return true;
  }

  close(): void {
    if (!this.#isLoaded) return;
    try {
      this.#library.C_Finalize();
    } finally {
      this.#library.close();
      this.#isLoaded = false;
    }
  }

  slots(tokenPresent: boolean): SlotHandle[] {
    try {
      return this.#library.C_GetSlotList(tokenPresent);
    } catch (error) {
      rethrow(error);
    }
  }

  slotInfo(slot: SlotHandle): SlotInfo {
    try {
      const info = this.#library.C_GetSlotInfo(slot);
      return {
        description: info.slotDescription.trim(),
        manufacturer: info.manufacturerID.trim(),
        flags: info.flags,
      };
    } catch (error) {
      rethrow(error);
    }
  }

  tokenInfo(slot: SlotHandle): TokenInfo {
    try {
      const info = this.#library.C_GetTokenInfo(slot);
      return {
        label: info.label.replace(/[\0 ]+$/, ''),
        manufacturer: info.manufacturerID.replace(/[\0 ]+$/, ''),
        model: info.model.replace(/[\0 ]+$/, ''),
        serial: info.serialNumber.replace(/[\0 ]+$/, ''),
        flags: info.flags,
        minPinLen: info.minPinLen,
        maxPinLen: info.maxPinLen,
      };
    } catch (error) {
      rethrow(error);
    }
  }

  mechanisms(slot: SlotHandle): number[] {
    try {
      return this.#library.C_GetMechanismList(slot);
    } catch (error) {
      rethrow(error);
    }
  }

  /** C_InitToken must run with no session open on the token. */
  initToken(slot: SlotHandle, soPin: SecretBytes, paddedLabel: string): void {
    try {
      soPin.use((pin) =>
        this.#library.C_InitToken(slot, Buffer.from(pin).toString('utf8'), paddedLabel),
      );
    } catch (error) {
      rethrow(error);
    }
  }

  async withSession<T>(
    slot: SlotHandle,
    isReadWrite: boolean,
    work: (session: SessionHandle) => Promise<T> | T,
  ): Promise<T> {
    let session: SessionHandle;
    try {
      const flags = CKS_FLAGS.SERIAL_SESSION | (isReadWrite ? CKS_FLAGS.RW_SESSION : 0);
      session = this.#library.C_OpenSession(slot, flags);
    } catch (error) {
      rethrow(error);
    }
    this.#openSessions++;
    try {
      return await work(session);
    } finally {
      this.#openSessions--;
      try {
        this.#library.C_CloseSession(session);
      } catch {
        // The token may be gone; the session is dead either way.
      }
    }
  }

  login(session: SessionHandle, userType: number, pin: SecretBytes): void {
    try {
      pin.use((bytes) =>
        this.#library.C_Login(session, userType, Buffer.from(bytes).toString('utf8')),
      );
    } catch (error) {
      rethrow(error);
    }
  }

  logout(session: SessionHandle): void {
    try {
      this.#library.C_Logout(session);
    } catch (error) {
      rethrow(error);
    }
  }

  initPin(session: SessionHandle, pin: SecretBytes): void {
    try {
      pin.use((bytes) => this.#library.C_InitPIN(session, Buffer.from(bytes).toString('utf8')));
    } catch (error) {
      rethrow(error);
    }
  }

  setPin(session: SessionHandle, oldPin: SecretBytes, newPin: SecretBytes): void {
    try {
      oldPin.use((o) =>
        newPin.use((n) =>
          this.#library.C_SetPIN(
            session,
            Buffer.from(o).toString('utf8'),
            Buffer.from(n).toString('utf8'),
          ),
        ),
      );
    } catch (error) {
      rethrow(error);
    }
  }

  async generateKeyPair(
    session: SessionHandle,
    mechanism: number,
    publicTemplate: AttributeSpec[],
    privateTemplate: AttributeSpec[],
  ): Promise<{ publicKey: ObjectHandle; privateKey: ObjectHandle }> {
    try {
      // Async so a slow token does not block the main process's event loop.
      return await this.#library.C_GenerateKeyPairAsync(
        session,
        { mechanism },
        publicTemplate,
        privateTemplate,
      );
    } catch (error) {
      rethrow(error);
    }
  }

  attributes(session: SessionHandle, object: ObjectHandle, types: number[]): Map<number, Buffer> {
    try {
      const result = this.#library.C_GetAttributeValue(
        session,
        object,
        types.map((type) => ({ type })),
      );
      return new Map(result.map((a) => [a.type, a.value]));
    } catch (error) {
      rethrow(error);
    }
  }

  findObjects(session: SessionHandle, template: AttributeSpec[]): ObjectHandle[] {
    try {
      this.#library.C_FindObjectsInit(session, template);
      try {
        return this.#library.C_FindObjects(session, 100);
      } finally {
        this.#library.C_FindObjectsFinal(session);
      }
    } catch (error) {
      rethrow(error);
    }
  }

  async sign(
    session: SessionHandle,
    mechanism: number,
    key: ObjectHandle,
    data: Buffer,
  ): Promise<Buffer> {
    try {
      this.#library.C_SignInit(session, { mechanism }, key);
      return await this.#library.C_SignAsync(session, data, Buffer.alloc(512));
    } catch (error) {
      rethrow(error);
    }
  }
}
