// The coordinator's trust bundle file, re-read when it changes.
import { validateTrustBundle } from '../clients/trust.ts';
import type { TrustBundle } from '../clients/trust.ts';
import { WatchedJsonFile } from './watched-file.ts';
import type { ReloadListener } from './watched-file.ts';

export function openTrustFile(
  path: string,
  onReload?: ReloadListener,
): WatchedJsonFile<TrustBundle> {
  return new WatchedJsonFile(path, validateTrustBundle, 'bad_trust_bundle', onReload);
}
