// Signing: the bytes a coordinator signs ("AgDR global log entry v1\n" || canonical JSON of
// the record without signature.sig), and the signed record.
import { concatBytes, toBase64 } from '../bytes.ts';
import { canonicalBytes } from '../jcs.ts';
import { keyId } from '../note.ts';
import type { Signer } from '../signer.ts';
import {
  type GlobalLogRecord,
  GlobalRootError,
  type GlobalRootRecord,
  type ReconstructionRecord,
  type RecordSignature,
  SIGNING_CONTEXT,
  type Unsigned,
} from './types.ts';

/** The bytes the coordinator signs: context line || canonical record without signature.sig. */
export function globalRootSigningBytes(
  record: Unsigned<GlobalLogRecord> | GlobalLogRecord,
  signature?: Omit<RecordSignature, 'sig'>,
): Uint8Array {
  const { signature: own, ...rest } = record as Partial<GlobalLogRecord> & {
    signature?: RecordSignature;
  };
  // Without explicit metadata, a signed record's own signature metadata is what was signed.
  const source = signature ?? own;
  if (source === undefined) {
    throw new GlobalRootError('invalid_record', '$.signature', 'signature metadata is required');
  }
  const meta = {
    key_name: source.key_name,
    key_id: source.key_id,
    key_version: source.key_version,
  };
  return concatBytes(SIGNING_CONTEXT, canonicalBytes({ ...rest, signature: meta }));
}

/** Signs a record with the coordinator's signer. */
export async function signGlobalLogRecord<T extends GlobalLogRecord>(
  unsigned: Unsigned<T>,
  signer: Signer,
): Promise<T> {
  const meta = {
    key_name: signer.name,
    key_id: keyId(signer.name, signer.publicKey).toString(16).padStart(8, '0'),
    key_version: signer.keyVersion,
  };
  const sig = await signer.sign(globalRootSigningBytes(unsigned, meta));
  if (sig.length !== 64) {
    throw new GlobalRootError(
      'bad_signature',
      '$.signature',
      'signer returned a non-Ed25519 signature',
    );
  }
  return { ...unsigned, signature: { ...meta, sig: toBase64(sig) } } as T;
}

export const signGlobalRootRecord = (
  unsigned: Unsigned<GlobalRootRecord>,
  signer: Signer,
): Promise<GlobalRootRecord> => signGlobalLogRecord<GlobalRootRecord>(unsigned, signer);

export const signReconstructionRecord = (
  unsigned: Unsigned<ReconstructionRecord>,
  signer: Signer,
): Promise<ReconstructionRecord> => signGlobalLogRecord<ReconstructionRecord>(unsigned, signer);
