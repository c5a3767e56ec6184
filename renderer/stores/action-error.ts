// A failed call, kept with its typed code so the view shows it beside the action that failed.
import { VigilCallError } from '../bridge/vigil-client.ts';

export interface ActionError {
  action: string;
  code: string;
  message: string;
}

export function actionErrorOf(action: string, error: unknown): ActionError {
  return error instanceof VigilCallError
    ? { action, code: error.code, message: error.message }
    : { action, code: 'internal-error', message: String(error) };
}
