// The one narrow Kubernetes client the operator uses: server-side apply, create-once, reads,
// merge patches, the AgDRCluster status subresource, Events and Leases. Everything else in
// src/operator talks to this interface; only this file knows @kubernetes/client-node's request
// shapes.
import { randomInt } from 'node:crypto';
import {
  ApiException,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  OpenidApi,
  PatchStrategy,
  WellKnownApi,
  setHeaderOptions,
} from '@kubernetes/client-node';
import type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import { CodedError } from '../core/errors.ts';
import { FIELD_MANAGER, REPORTING_CONTROLLER } from './names.ts';
import { AGDR_GROUP, AGDR_PLURAL, AGDR_VERSION } from './types.ts';
import type { AgDRClusterStatus } from './types.ts';

export type KubeErrorCode =
  'not_found' | 'already_exists' | 'conflict' | 'invalid' | 'forbidden' | 'unavailable' | 'failed';

/** A failed API call: the HTTP status as a code an operator can act on. */
export class KubeError extends CodedError<KubeErrorCode> {
  override name = 'KubeError';
  readonly status: number | undefined;
  constructor(code: KubeErrorCode, message: string, status?: number) {
    super(code, message);
    this.status = status;
  }
}

function codeOf(status: number, reason: string | undefined): KubeErrorCode {
  if (status === 404) return 'not_found';
  if (status === 409) return reason === 'AlreadyExists' ? 'already_exists' : 'conflict';
  if (status === 422 || status === 400) return 'invalid';
  if (status === 401 || status === 403) return 'forbidden';
  if (status === 429 || status >= 500) return 'unavailable';
  return 'failed';
}

/** Turns anything client-node throws into a KubeError (network failures are `unavailable`). */
export function kubeError(err: unknown, what: string): KubeError {
  if (err instanceof KubeError) return err;
  if (err instanceof ApiException) {
    let body: { reason?: string; message?: string } = {};
    const raw: unknown = err.body;
    if (typeof raw === 'string') {
      try {
        body = JSON.parse(raw) as typeof body;
      } catch {
        body = { message: raw.slice(0, 200) };
      }
    } else if (typeof raw === 'object' && raw !== null) body = raw as typeof body;
    return new KubeError(
      codeOf(err.code, body.reason),
      `${what}: ${body.message ?? `HTTP ${err.code}`}`,
      err.code,
    );
  }
  return new KubeError(
    'unavailable',
    `${what}: ${err instanceof Error ? err.message : String(err)}`,
  );
}

export interface ObjectKey {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
}

/** An events.k8s.io/v1 Event body. */
export interface EventBody {
  readonly namespace: string;
  readonly regarding: {
    apiVersion: string;
    kind: string;
    name: string;
    namespace: string;
    uid?: string;
  };
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly action: string;
  readonly note: string;
  readonly reportingInstance: string;
  /** RFC 3339 with microseconds. */
  readonly eventTime: string;
}

export interface Kube {
  /** Server-side apply (field manager agdr-operator, force); returns the stored object. */
  apply<T extends KubernetesObject>(obj: T): Promise<T>;
  /** Creates `obj`; `already_exists` is thrown as a KubeError. */
  create<T extends KubernetesObject>(obj: T): Promise<T>;
  /** The object, or undefined if it does not exist. */
  read<T extends KubernetesObject>(key: ObjectKey): Promise<T | undefined>;
  /** Replaces `obj` (optimistic concurrency on metadata.resourceVersion: `conflict`). */
  replace<T extends KubernetesObject>(obj: T): Promise<T>;
  /**
   * JSON merge patch (RFC 7386) of the object `patch` names: `null` removes a field, a list is
   * replaced whole; a metadata.resourceVersion in `patch` makes it conditional (`conflict`).
   */
  mergePatch<T extends KubernetesObject>(patch: KubernetesObject): Promise<T>;
  list<T extends KubernetesObject>(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    labelSelector?: string,
  ): Promise<KubernetesListObject<T>>;
  /** Server-side apply of an AgDRCluster's status subresource. */
  applyClusterStatus(namespace: string, name: string, status: AgDRClusterStatus): Promise<void>;
  createEvent(event: EventBody): Promise<void>;
  /**
   * The cluster's ServiceAccount token issuer and its public keys: `issuer` of
   * /.well-known/openid-configuration and the JWK Set at /openid/v1/jwks (unchecked here).
   * Needs `get` on those two nonResourceURLs.
   */
  serviceAccountIssuer(): Promise<{ issuer: unknown; jwks: unknown }>;
}

/** Kube over a KubeConfig (a kubeconfig file or the in-cluster service account). */
export function kubeFromConfig(kc: KubeConfig): Kube {
  const objects = KubernetesObjectApi.makeApiClient(kc);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const wellKnown = kc.makeApiClient(WellKnownApi);
  const openid = kc.makeApiClient(OpenidApi);
  // The generated client types both answers as strings but parses JSON media types itself.
  const json = (v: unknown): unknown => (typeof v === 'string' ? (JSON.parse(v) as unknown) : v);
  const describe = (o: KubernetesObject): string =>
    `${o.kind ?? '?'} ${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? '?'}`;
  return {
    async apply<T extends KubernetesObject>(obj: T): Promise<T> {
      try {
        return await objects.patch<T>(
          obj,
          undefined,
          undefined,
          FIELD_MANAGER,
          true,
          PatchStrategy.ServerSideApply,
        );
      } catch (err) {
        throw kubeError(err, `apply ${describe(obj)}`);
      }
    },
    async create<T extends KubernetesObject>(obj: T): Promise<T> {
      try {
        return await objects.create<T>(obj, undefined, undefined, FIELD_MANAGER);
      } catch (err) {
        throw kubeError(err, `create ${describe(obj)}`);
      }
    },
    async read<T extends KubernetesObject>(key: ObjectKey): Promise<T | undefined> {
      try {
        return (await objects.read({
          apiVersion: key.apiVersion,
          kind: key.kind,
          metadata: { name: key.name, namespace: key.namespace },
        })) as T;
      } catch (err) {
        const e = kubeError(err, `read ${key.kind} ${key.namespace}/${key.name}`);
        if (e.code === 'not_found') return undefined;
        throw e;
      }
    },
    async replace<T extends KubernetesObject>(obj: T): Promise<T> {
      try {
        return await objects.replace<T>(obj, undefined, undefined, FIELD_MANAGER);
      } catch (err) {
        throw kubeError(err, `replace ${describe(obj)}`);
      }
    },
    async mergePatch<T extends KubernetesObject>(patch: KubernetesObject): Promise<T> {
      try {
        return (await objects.patch(
          patch,
          undefined,
          undefined,
          FIELD_MANAGER,
          undefined,
          PatchStrategy.MergePatch,
        )) as T;
      } catch (err) {
        throw kubeError(err, `merge-patch ${describe(patch)}`);
      }
    },
    async list<T extends KubernetesObject>(
      apiVersion: string,
      kind: string,
      namespace: string | undefined,
      labelSelector?: string,
    ): Promise<KubernetesListObject<T>> {
      try {
        return await objects.list<T>(
          apiVersion,
          kind,
          namespace,
          undefined,
          undefined,
          undefined,
          undefined,
          labelSelector,
        );
      } catch (err) {
        throw kubeError(err, `list ${kind} in ${namespace ?? 'all namespaces'}`);
      }
    },
    async applyClusterStatus(namespace, name, status): Promise<void> {
      try {
        await custom.patchNamespacedCustomObjectStatus(
          {
            group: AGDR_GROUP,
            version: AGDR_VERSION,
            namespace,
            plural: AGDR_PLURAL,
            name,
            body: {
              apiVersion: `${AGDR_GROUP}/${AGDR_VERSION}`,
              kind: 'AgDRCluster',
              metadata: { name, namespace },
              status,
            },
            fieldManager: FIELD_MANAGER,
            force: true,
          },
          setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
        );
      } catch (err) {
        throw kubeError(err, `apply status of AgDRCluster ${namespace}/${name}`);
      }
    },
    async createEvent(event: EventBody): Promise<void> {
      const body = {
        apiVersion: 'events.k8s.io/v1',
        kind: 'Event',
        // client-go's naming: <object>.<hex nanoseconds>, plus random bits against collisions.
        metadata: {
          name: `${event.regarding.name}.${(BigInt(Date.now()) * 1_000_000n + BigInt(randomInt(1_000_000))).toString(16)}`,
          namespace: event.namespace,
        },
        eventTime: event.eventTime,
        reportingController: REPORTING_CONTROLLER,
        reportingInstance: event.reportingInstance,
        action: event.action,
        reason: event.reason,
        note: event.note,
        type: event.type,
        regarding: event.regarding,
      };
      try {
        await objects.create(body as unknown as KubernetesObject);
      } catch (err) {
        throw kubeError(err, `create Event ${event.reason} for ${event.regarding.name}`);
      }
    },
    async serviceAccountIssuer() {
      try {
        const config = json(await wellKnown.getServiceAccountIssuerOpenIDConfiguration());
        const jwks = json(await openid.getServiceAccountIssuerOpenIDKeyset());
        const issuer =
          typeof config === 'object' && config !== null
            ? (config as { issuer?: unknown }).issuer
            : undefined;
        return { issuer, jwks };
      } catch (err) {
        throw kubeError(
          err,
          'read the service-account issuer (/.well-known/openid-configuration, /openid/v1/jwks)',
        );
      }
    },
  };
}

/** A KubeConfig from a kubeconfig file, or the pod's service account when none is given. */
export function loadKubeConfig(kubeconfig: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  if (kubeconfig !== undefined) kc.loadFromFile(kubeconfig);
  else kc.loadFromCluster();
  return kc;
}
