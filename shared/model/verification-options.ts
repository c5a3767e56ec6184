// The choices "Verify a ceremony folder" offers beside `vigil verify`'s options, listed once for
// the contract and the window. Plain data, no zod: the window imports it, and its bundle carries
// no schema library.

/** PIN policies a PIV slot key may be required to have (yubikit's names). */
export const PIV_PIN_POLICIES = [
  'default',
  'never',
  'once',
  'always',
  'matchOnce',
  'matchAlways',
] as const;
export type PivPinPolicyName = (typeof PIV_PIN_POLICIES)[number];

/** Touch policies a PIV slot key may be required to have. */
export const PIV_TOUCH_POLICIES = ['default', 'never', 'always', 'cached'] as const;
export type PivTouchPolicyName = (typeof PIV_TOUCH_POLICIES)[number];

/** A YubiKey firmware version as `vigil verify --min-firmware` takes it: 5.4.3. */
export const FIRMWARE_PATTERN = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
