// Navigation and new windows: nothing leaves vigil://app (checklist #13, #14, #11, #12).
import type { App, WebContents } from 'electron';
import { isAppUrl } from './app-protocol.ts';

/** In-app routes only: the URL is parsed and its scheme and host compared, never a prefix. */
export function isAllowedNavigation(url: string): boolean {
  return isAppUrl(url);
}

export function guardWebContents(contents: WebContents): void {
  // SECURITY: a compromised renderer cannot navigate away or be redirected away (checklist #13).
  contents.on('will-navigate', (event, url) => {
    if (!isAllowedNavigation(url)) event.preventDefault();
  });
  contents.on('will-frame-navigate', (event) => {
    if (!isAllowedNavigation(event.url)) event.preventDefault();
  });
  contents.on('will-redirect', (event, url) => {
    if (!isAllowedNavigation(url)) event.preventDefault();
  });
  // SECURITY: no new windows and no webviews, ever (checklist #14, #12).
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  contents.on('will-attach-webview', (event) => event.preventDefault());
}

/** Guards every WebContents Electron creates, including any we did not ask for. */
export function applyNavigationPolicy(app: App): void {
  app.on('web-contents-created', (_event, contents) => guardWebContents(contents));
}
