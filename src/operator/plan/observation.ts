// What the operator observed of one cluster, as plain data: the input of status planning.
import type { MissingReport } from '../../clients/coordinator-api.ts';
import type { EpochTable } from '../../core/routing.ts';
import type { ShardSealStatus } from '../types.ts';
import type { KeyConflict, TrimWait } from './keys.ts';

export interface ShardPodObservation {
  readonly id: number;
  /** The pod exists. */
  readonly exists: boolean;
  /** The pod's Ready condition is True. */
  readonly ready: boolean;
  readonly podIP?: string;
  /** Restarts of the shard container. */
  readonly restarts: number;
  /** Tree size of the shard's latest checkpoint, when it could be read. */
  readonly treeSize?: number;
  /** Hash of the routing table the shard serves (`epochTableHash`), when it could be read. */
  readonly routingHash?: string;
}

export interface CoordinatorShardView {
  readonly status: ShardSealStatus | null;
  readonly reason: string | null;
  readonly sealedSize: number | null;
  /** Root of the sealed checkpoint, 64 lowercase hex digits. */
  readonly sealedRoot?: string | null;
  /** timestamp_ns signed in the sealed checkpoint (the shard's clock), decimal. */
  readonly sealedCheckpointNs?: string | null;
  /** Missed intervals not yet reconstructed. */
  readonly openIntervals?: number;
}

export interface GlobalRootView {
  readonly id: number;
  /** 64 lowercase hex digits. */
  readonly root: string;
  readonly timestampNs: string;
}

export interface CoordinatorObservation {
  readonly exists: boolean;
  readonly ready: boolean;
  readonly podIP?: string;
  /** Per shard, as the coordinator's latest round recorded it; absent if it could not be read. */
  readonly shards?: ReadonlyMap<number, CoordinatorShardView>;
  readonly latest?: GlobalRootView;
  /** Shards with open missed intervals and the latest reconstructions (`GET /v1/missing`). */
  readonly missing?: MissingReport;
  /** Why the coordinator could not be read, when it could not. */
  readonly readError?: string;
  /** Hash of the routing table the coordinator serves, when it could be read. */
  readonly routingHash?: string;
}

export interface PublicKeyView {
  readonly keyVersion: number;
  /** C2SP verifier key string. */
  readonly verifierKey: string;
}

/** A reason the cluster cannot run at all (nothing that signs is created). */
export interface Blocker {
  readonly reason: string;
  readonly message: string;
}

/** Vault keys (`keys.provider: vault`): what is provisioned and published, what Vault did. */
export interface KeysObservation {
  /**
   * Shards 0..readyForShards-1 have keys in Vault whose public keys are published in the trust
   * bundle: the StatefulSet may run that many shards (a scale up waits for this fact).
   */
  readonly readyForShards: number;
  readonly coordinatorReady: boolean;
  /** Shards the cluster wants keys for: spec.shards or the StatefulSet's replicas if more. */
  readonly wantedShards: number;
  /** A Vault step failed this reconcile (the rest of the reconcile went on). */
  readonly vaultError?: { readonly code: string; readonly message: string };
  readonly conflicts: readonly KeyConflict[];
  /** Trims held back until a signer's latest checkpoint is signed by a kept version. */
  readonly trimWaits: readonly TrimWait[];
  /** Keys rotated this reconcile (the new version) and keys trimmed (the oldest version kept). */
  readonly rotated: readonly { readonly key: string; readonly version: number }[];
  readonly trimmed: readonly { readonly key: string; readonly minVersion: number }[];
  /** When a key last got a new version (as Vault dates it), and when the next one is due. */
  readonly lastRotation?: Date;
  readonly nextRotation?: Date;
  /** Newest version of the coordinator's key. */
  readonly coordinatorKeyVersion?: number;
}

export interface ClusterObservation {
  readonly generation: number;
  /** spec.shards. */
  readonly desiredShards: number;
  /** Shards the StatefulSet runs (its spec.replicas); 0 before it exists. */
  readonly runningShards: number;
  /** The StatefulSet controller has rolled out the current template to every pod. */
  readonly rolledOut: boolean;
  readonly shards: readonly ShardPodObservation[];
  readonly coordinator: CoordinatorObservation;
  readonly routing?: EpochTable;
  /** The signing key of each shard (by id). */
  readonly shardKeys: ReadonlyMap<number, PublicKeyView>;
  readonly blocker?: Blocker;
  /** Present for keys.provider vault. */
  readonly keys?: KeysObservation;
  /** `status.selector`. */
  readonly selector: string;
}
