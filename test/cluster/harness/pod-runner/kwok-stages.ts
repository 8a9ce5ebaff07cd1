// KWOK's pod stages for the cluster tier: its default ("fast") stages for every pod except the
// pod runner's, and for those one stage that only assigns the pod and host IP, so KWOK stays the
// one allocator of pod IPs and the runner owns everything else in the pod's status (KWOK leaves
// a pod alone once it matches none of its stages).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { parseAllDocuments, stringify } from 'yaml';

interface Stage {
  spec: { selector: { matchExpressions: { key: string; operator: string; values?: string[] }[] } };
}

const DEFAULT_STAGES = resolve(import.meta.dirname, '../kwok-pod-stages.yaml');
const IMAGES_KEY = '.spec.containers.[].image';

/** A KWOK config (Stage documents) for the given runner image. */
export function kwokStagesConfig(runnerImage: string): string {
  const defaults = parseAllDocuments(readFileSync(DEFAULT_STAGES, 'utf8')).map(
    (doc) => doc.toJS() as Stage,
  );
  for (const stage of defaults) {
    stage.spec.selector.matchExpressions.push({
      key: IMAGES_KEY,
      operator: 'NotIn',
      values: [runnerImage],
    });
  }
  const podIP = {
    apiVersion: 'kwok.x-k8s.io/v1alpha1',
    kind: 'Stage',
    metadata: { name: 'agdr-pod-runner-ip' },
    spec: {
      resourceRef: { apiGroup: 'v1', kind: 'Pod' },
      selector: {
        matchExpressions: [
          { key: '.metadata.deletionTimestamp', operator: 'DoesNotExist' },
          { key: '.status.podIP', operator: 'DoesNotExist' },
          { key: IMAGES_KEY, operator: 'In', values: [runnerImage] },
        ],
      },
      next: {
        statusTemplate: [
          'hostIP: {{ NodeIPWith .spec.nodeName | Quote }}',
          'podIP: {{ PodIPWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) | Quote }}',
          '',
        ].join('\n'),
      },
    },
  };
  return [...defaults, podIP].map((d) => stringify(d)).join('---\n');
}
