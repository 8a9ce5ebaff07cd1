// agdr-operator/client: the client library (docs/CLIENT.md).
export { AgdrClient, verify } from './client.ts';
export type { AgdrClientRouting, CheckResult, ProveOptions } from './client.ts';
export type { AgdrClientOptions, Receipt, SubmitOutcome, TokenOption } from './types.ts';
export type { DecisionInput } from './prepare.ts';
export { SubmitError } from './errors.ts';
export type { SubmitErrorCode, SubmitProblem } from './errors.ts';
export { EvidenceError } from './evidence.ts';
export type { EvidenceErrorCode } from './evidence.ts';
export type { BackoffPolicy } from './backoff.ts';
export { ClientError, HttpError } from '../clients/errors.ts';
export type { TrustBundle, TrustedKey } from '../clients/trust.ts';
export { parseBundle, serializeBundle } from '../core/bundle.ts';
export type { BundleReport, EvidenceBundle, TrustAnchor } from '../core/bundle.ts';
export type { EpochTable, RoutingEpoch } from '../core/routing.ts';
export { CodedError } from '../core/errors.ts';
