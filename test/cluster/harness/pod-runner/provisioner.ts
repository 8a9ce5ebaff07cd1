// A dynamic provisioner for the tier's default StorageClass, so claims (a StatefulSet's
// volumeClaimTemplates, an operator's PVCs) bind without hand-made PersistentVolumes. It does
// what an external provisioner does: for a Pending claim the PV controller has handed to it
// (annotation volume.kubernetes.io/storage-provisioner), it creates a PV with a claimRef to the
// claim; the PV controller binds the two. The data lives in the pod runner's directory for that
// PV (WORK/persistent-volumes/<pv-name>); the PV's hostPath only names it.
import { join } from 'node:path';

import { ApiException } from '@kubernetes/client-node';
import type { CoreV1Api, StorageV1Api, V1PersistentVolumeClaim } from '@kubernetes/client-node';

export const TEST_STORAGE_CLASS = 'agdr-test-local';
export const TEST_PROVISIONER = 'agdr.dev/pod-runner';

const PROVISIONER_ANNOTATIONS = [
  'volume.kubernetes.io/storage-provisioner',
  'volume.beta.kubernetes.io/storage-provisioner',
];

/** Creates the default StorageClass (Immediate binding, Retain) unless it exists. */
export async function ensureStorageClass(storage: StorageV1Api): Promise<void> {
  await storage
    .createStorageClass({
      body: {
        metadata: {
          name: TEST_STORAGE_CLASS,
          annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' },
        },
        provisioner: TEST_PROVISIONER,
        volumeBindingMode: 'Immediate',
        reclaimPolicy: 'Retain',
      },
    })
    .catch((err: unknown) => {
      if (err instanceof ApiException && err.code === 409) return;
      throw err;
    });
}

/** Whether the claim waits for this provisioner. */
export function wantsVolume(claim: V1PersistentVolumeClaim): boolean {
  const annotations = claim.metadata?.annotations ?? {};
  return (
    claim.status?.phase === 'Pending' &&
    !claim.spec?.volumeName &&
    PROVISIONER_ANNOTATIONS.some((a) => annotations[a] === TEST_PROVISIONER)
  );
}

/** Creates the claim's PV (named pvc-<claim uid>, as external provisioners name them). */
export async function provisionVolume(
  core: CoreV1Api,
  claim: V1PersistentVolumeClaim,
  volumesDir: string,
): Promise<string> {
  const meta = claim.metadata ?? {};
  const name = `pvc-${meta.uid}`;
  await core
    .createPersistentVolume({
      body: {
        metadata: { name, annotations: { 'pv.kubernetes.io/provisioned-by': TEST_PROVISIONER } },
        spec: {
          capacity: { storage: claim.spec?.resources?.requests?.['storage'] ?? '1Gi' },
          accessModes: claim.spec?.accessModes ?? ['ReadWriteOnce'],
          persistentVolumeReclaimPolicy: 'Retain',
          storageClassName: claim.spec?.storageClassName ?? TEST_STORAGE_CLASS,
          volumeMode: claim.spec?.volumeMode ?? 'Filesystem',
          claimRef: {
            apiVersion: 'v1',
            kind: 'PersistentVolumeClaim',
            namespace: meta.namespace,
            name: meta.name,
            uid: meta.uid,
          },
          hostPath: { path: join(volumesDir, name) },
        },
      },
    })
    .catch((err: unknown) => {
      if (err instanceof ApiException && err.code === 409) return;
      throw err;
    });
  return name;
}
