// Electron IPC ↔ the dispatcher. Knows about transports; handlers never see Electron events.
import type { BrowserWindow, IpcMain, IpcMainInvokeEvent } from 'electron';
import { callNames, channelFor } from '../../../shared/contract/index.ts';
import type { VigilCore } from '../../core/vigil-core.ts';
import { isAppUrl } from '../hardening/app-protocol.ts';

export interface SenderFacts {
  isMainFrameOfOurWindow: boolean;
  frameUrl: string | null;
  webContentsId: number;
}

/** Main frame of our one window, at vigil://app, from a WebContents we created. */
export function isTrustedSender(
  sender: SenderFacts,
  trustedWebContentsIds: ReadonlySet<number>,
): boolean {
  if (!sender.isMainFrameOfOurWindow || sender.frameUrl === null) return false;
  if (!trustedWebContentsIds.has(sender.webContentsId)) return false;
  return isAppUrl(sender.frameUrl);
}

/** The plain fields the predicate needs, read from Electron's event. */
export function senderFacts(event: IpcMainInvokeEvent, window: BrowserWindow): SenderFacts {
  // senderFrame is null once the frame has navigated away or been destroyed.
  const frame = event.senderFrame;
  return {
    isMainFrameOfOurWindow: frame !== null && frame === window.webContents.mainFrame,
    frameUrl: frame?.url ?? null,
    webContentsId: event.sender.id,
  };
}

export function connectIpc(
  ipcMain: Pick<IpcMain, 'handle' | 'removeHandler'>,
  core: Pick<VigilCore, 'dispatcher' | 'events'>,
  window: BrowserWindow,
): () => void {
  // GitHub Desktop's second key: only WebContents we created may call at all.
  const trusted: ReadonlySet<number> = new Set([window.webContents.id]);
  // SECURITY: every IPC message's sender is checked before its name or payload (checklist #17).
  const dispatcher = core.dispatcher<IpcMainInvokeEvent>((event) =>
    isTrustedSender(senderFacts(event, window), trusted),
  );
  for (const name of callNames) {
    // The name comes from our own list, never from the message: one channel per contract call.
    ipcMain.handle(channelFor(name), (event, payload: unknown) =>
      dispatcher.dispatch(event, name, payload),
    );
  }
  // Events were validated by the EventHub; they go to our window only, never broadcast.
  const unsubscribe = core.events.subscribe((name, payload) => {
    if (!window.isDestroyed()) window.webContents.send(channelFor(name), payload);
  });
  return () => {
    unsubscribe();
    for (const name of callNames) ipcMain.removeHandler(channelFor(name));
  };
}
