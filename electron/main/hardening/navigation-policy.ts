// Navigation and new windows: nothing leaves vigil://app (checklist #13, #14, #11, #12).
import type { App, WebContents } from 'electron';
import { APP_ORIGIN } from './app-protocol.ts';

/** In-app routes only: compare parsed origins, never string prefixes. */
export function isAllowedNavigation(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'vigil:' && `${parsed.protocol}//${parsed.host}` === APP_ORIGIN;
  } catch {
    return false;
  }
}

export function guardWebContents(contents: WebContents): void {
  // SECURITY: a compromised renderer cannot navigate away or redirect (checklist #13).
  contents.on('will-navigate', (event, url) => {
    if (!isAllowedNavigation(url)) event.preventDefault();
  });
  contents.on('will-redirect', (event, url) => {
    if (!isAllowedNavigation(url)) event.preventDefault();
  });
  // SECURITY: no new windows and no webviews, ever (checklist #14, #12).
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  contents.on('will-attach-webview', (event) => event.preventDefault());
}

export function applyNavigationPolicy(app: App): void {
  app.on('web-contents-created', (_event, contents) => guardWebContents(contents));
}
