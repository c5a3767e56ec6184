// The YubiKey PIV family: YubiKeys found in PC/SC readers (production) and rehearsal YubiKeys
// plugged into this app, each listed by serial. A YubiKey is always found again by serial,
// never by reader order: two keys plugged in at once is normal for keyholders.
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import type { DeviceFamilyId, DeviceSummary, KeyCurve } from '../../../shared/model/device.ts';
import { VigilError } from '../../base/errors.ts';
import { PcscContext, SmartCardError, type ReaderView } from '../smartcard/transport.ts';
import {
  PivSession,
  firmwareText,
  pinStateOf,
  type ApduChannel,
  type CredentialState,
} from './driver.ts';
import { PivKeyRef, PivSlot, pivKeyAlgorithms, type PivKeyAlgorithm } from './protocol.ts';
import { InProcessCardChannel } from './transport.ts';
import { loadPivTrust, type PivTrust } from './attestation.ts';
import type { VirtualCard } from '../smartcard/rehearsal-server.ts';
import { RehearsalYubiKeyRack } from './rehearsal-rack.ts';
import type { DeviceEnvironment, RehearsalBench } from '../device-environment.ts';

export const YUBIKEY_PIV_FAMILY: DeviceFamilyId = 'yubikey-piv';
export const YUBIKEY_PIV_REHEARSAL_FAMILY: DeviceFamilyId = 'yubikey-piv-rehearsal';

let trust: PivTrust | null = null;

/**
 * A card whose F9 certificate the rehearsal CA issued is a rehearsal YubiKey, whichever reader
 * it sits in: it is listed (and its products marked) as rehearsal, never as production.
 */
export function isRehearsalF9(der: Uint8Array | null): boolean {
  if (der === null) return false;
  trust ??= loadPivTrust();
  try {
    const f9 = new X509Certificate(der);
    return trust.rehearsalRoots.some((ca) => f9.issuer === ca.subject && f9.verify(ca.publicKey));
  } catch {
    return false;
  }
}

/** What a ceremony can generate and attest on this firmware. */
export function pivCurvesOf(session: PivSession): KeyCurve[] {
  return (Object.keys(pivKeyAlgorithms) as PivKeyAlgorithm[])
    .filter((a) => session.supports(a))
    .map((a) => pivKeyAlgorithms[a].curve);
}

export async function yubiKeySummary(
  session: PivSession,
  isRehearsal: boolean,
  where: string,
): Promise<DeviceSummary> {
  const family = isRehearsal ? YUBIKEY_PIV_REHEARSAL_FAMILY : YUBIKEY_PIV_FAMILY;
  const serial = String(session.serial);
  const pin: CredentialState = await session.credentialState('PIN');
  const puk: CredentialState = await session.credentialState('PUK');
  const management = session.hasMetadata ? await session.metadata(PivKeyRef.managementKey) : null;
  const flags = [
    ...(pin.isDefault === true ? ['default PIN'] : []),
    ...(puk.isDefault === true ? ['default PUK'] : []),
    ...(management?.isDefault === true ? ['default management key'] : []),
  ];
  return {
    id: `${family}:${serial}`,
    family,
    familyName: isRehearsal ? 'Rehearsal YubiKey (PIV)' : 'YubiKey (PIV)',
    isRehearsal,
    moduleName: where,
    slotDescription: `firmware ${firmwareText(session.firmware)}`,
    manufacturer: 'Yubico',
    model: isRehearsal ? 'YubiKey 5 (REHEARSAL)' : 'YubiKey 5',
    serial,
    label: '',
    flags,
    userPin: pinStateOf(pin),
    soPin: pinStateOf(puk),
    isInitialized: true,
    isDeadly: false,
    deadlyReason: null,
    curves: pivCurvesOf(session),
  };
}

/** An open PIV session and how to let the card go (resetting it, so no PIN stays verified). */
export interface YubiKeyConnection {
  session: PivSession;
  close(): Promise<void>;
}

/** A raw APDU channel to the card (for other applets, such as OpenPGP), and how to let it go. */
export interface YubiKeyChannel {
  channel: ApduChannel;
  close(): Promise<void>;
}

export interface FoundYubiKey {
  summary: DeviceSummary;
  open(): Promise<YubiKeyConnection>;
  /** The same card, found the same way, without a PIV session on top. */
  openChannel(): Promise<YubiKeyChannel>;
}

export interface YubiKeySources {
  /** PC/SC for production YubiKeys; null when the app must not look (tests, rehearsal runs). */
  pcsc: (() => PcscContext) | null;
  rehearsal: RehearsalYubiKeyRack;
}

/** Runs `work` on an open session and always closes it. */
export async function withYubiKey<T>(
  found: FoundYubiKey,
  work: (session: PivSession) => Promise<T>,
): Promise<T> {
  const connection = await found.open();
  try {
    return await work(connection.session);
  } finally {
    await connection.close();
  }
}

async function pcscYubiKeys(openContext: () => PcscContext): Promise<FoundYubiKey[]> {
  let context: PcscContext;
  try {
    context = openContext();
  } catch {
    return []; // No pcscd: no production YubiKeys, which the panel says by listing none.
  }
  const found: FoundYubiKey[] = [];
  try {
    const readers: ReaderView[] = await context.readers().catch(() => []);
    for (const reader of readers.filter((r) => r.isCardPresent && !r.isMute)) {
      const summary = await probeReader(context, reader.name).catch(() => null);
      if (!summary) continue; // Not a PIV card, or held by another program.
      found.push({
        summary,
        open: () => openBySerial(openContext, summary.serial),
        openChannel: () => openBySerial(openContext, summary.serial),
      });
    }
  } finally {
    context.close();
  }
  return found;
}

async function probeReader(context: PcscContext, readerName: string): Promise<DeviceSummary> {
  const channel = await context.connect(readerName);
  try {
    const session = await PivSession.open(channel);
    const f9 = await session.readCertificate(PivSlot.attestation).catch(() => null);
    return await yubiKeySummary(session, isRehearsalF9(f9), readerName);
  } finally {
    await channel.disconnect(false);
  }
}

/** Finds the reader holding the YubiKey with `serial` now (readers may have been reordered). */
async function openBySerial(
  openContext: () => PcscContext,
  serial: string,
): Promise<YubiKeyConnection & YubiKeyChannel> {
  const context = openContext();
  try {
    for (const reader of (await context.readers()).filter((r) => r.isCardPresent)) {
      const channel = await context.connect(reader.name, { exclusive: true }).catch(() => null);
      if (!channel) continue;
      const session = await PivSession.open(channel).catch(() => null);
      if (session && String(session.serial) === serial) {
        return {
          session,
          channel,
          close: async () => {
            await channel.disconnect(true);
            context.close();
          },
        };
      }
      await channel.disconnect(false);
    }
  } catch (error) {
    context.close();
    throw error instanceof SmartCardError
      ? new VigilError('device-gone', `YubiKey ${serial}: ${error.message}`)
      : error;
  }
  context.close();
  throw new VigilError('device-gone', `The YubiKey with serial ${serial} is not connected.`);
}

// A rehearsal card held in this process is used by one session at a time, as PC/SC's exclusive
// access does for a card in a reader: the device list never resets a card a step is using.
const cardQueues = new WeakMap<VirtualCard, Promise<void>>();
const busyCards = new WeakSet<VirtualCard>();
const lastSummaries = new WeakMap<VirtualCard, DeviceSummary>();

async function openRehearsalChannel(card: VirtualCard): Promise<YubiKeyChannel> {
  let release = () => {};
  const turn = new Promise<void>((resolve) => (release = resolve));
  const before = cardQueues.get(card) ?? Promise.resolve();
  cardQueues.set(
    card,
    before.then(() => turn),
  );
  await before;
  busyCards.add(card);
  card.reset?.();
  const done = () => {
    card.reset?.(); // Like pulling the card: no PIN stays verified behind the step.
    busyCards.delete(card);
    release();
    return Promise.resolve();
  };
  return { channel: new InProcessCardChannel(card), close: done };
}

async function openRehearsalCard(card: VirtualCard): Promise<YubiKeyConnection> {
  const connection = await openRehearsalChannel(card);
  try {
    return { session: await PivSession.open(connection.channel), close: () => connection.close() };
  } catch (error) {
    await connection.close();
    throw error;
  }
}

/** The card's summary, or the last one seen while a step holds the card. */
async function rehearsalSummary(card: VirtualCard): Promise<DeviceSummary | null> {
  if (busyCards.has(card)) return lastSummaries.get(card) ?? null;
  const connection = await openRehearsalCard(card);
  try {
    const summary = await yubiKeySummary(connection.session, true, 'rehearsal card');
    lastSummaries.set(card, summary);
    return summary;
  } finally {
    await connection.close();
  }
}

/**
 * The YubiKeys of one core: its rehearsal rack and, unless told not to look, PC/SC readers;
 * listed as devices. The PIV and OpenPGP families share them: one card, two applets.
 */
export function openYubiKeySources(env: DeviceEnvironment): YubiKeySources {
  return env.shared('yubikeys', () => {
    const sources: YubiKeySources = {
      pcsc: env.settings.usePcsc ? () => PcscContext.open() : null,
      rehearsal: new RehearsalYubiKeyRack(join(env.rehearsalDir, 'rehearsal-yubikey')),
    };
    env.registry.addSource(async () => (await findYubiKeys(sources)).map((found) => found.summary));
    return sources;
  });
}

export const yubiKeyRehearsalBench: RehearsalBench = {
  restore: (sources) => (sources as YubiKeySources).rehearsal.restore(),
  async ensureOne(sources) {
    const rack = (sources as YubiKeySources).rehearsal;
    await rack.restore();
    if (rack.cards.length > 0) return null;
    const card = await rack.plugIn();
    return { line: `rehearsal YubiKey ${card.serial} connected` };
  },
  /** A YubiKey is picked by the serial typed first: the one rehearsal card's. */
  sheet(sources, field) {
    if (field !== 'serial') return null;
    const [card, ...others] = (sources as YubiKeySources).rehearsal.cards;
    return card && others.length === 0 ? String(card.serial) : null;
  },
  async remove(sources, device) {
    const rack = (sources as YubiKeySources).rehearsal;
    const serial = Number(device.serial);
    // One bench serves the PIV and the OpenPGP family: the card is listed under the PIV one.
    if (device.family !== 'yubikey-piv-rehearsal' || !rack.cards.some((c) => c.serial === serial))
      return false;
    await rack.unplug(serial);
    return true;
  },
  async putAway(sources, device) {
    const rack = (sources as YubiKeySources).rehearsal;
    const serial = Number(device.serial);
    if (device.family !== 'yubikey-piv-rehearsal' || !rack.cards.some((c) => c.serial === serial))
      return false;
    await rack.putAway(serial);
    return true;
  },
  putAwayDevices: (sources) =>
    (sources as YubiKeySources).rehearsal.putAwaySerials().map((serial) => ({
      family: 'yubikey-piv-rehearsal',
      familyName: 'Rehearsal YubiKey (PIV)',
      serial: String(serial),
    })),
  async takeOut(sources, device) {
    if (device.family !== 'yubikey-piv-rehearsal') return false;
    await (sources as YubiKeySources).rehearsal.takeOut(Number(device.serial));
    return true;
  },
  close: (sources) => (sources as YubiKeySources).rehearsal.close(),
};

/** Every YubiKey reachable now: rehearsal YubiKeys first, then PC/SC readers. */
export async function findYubiKeys(sources: YubiKeySources): Promise<FoundYubiKey[]> {
  const found: FoundYubiKey[] = [];
  for (const card of sources.rehearsal.cards) {
    const summary = await rehearsalSummary(card);
    if (summary)
      found.push({
        summary,
        open: () => openRehearsalCard(card),
        openChannel: () => openRehearsalChannel(card),
      });
  }
  if (sources.pcsc !== null) found.push(...(await pcscYubiKeys(sources.pcsc)));
  return found;
}
