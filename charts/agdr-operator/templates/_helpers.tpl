{{/* The release's full name: the release name, with the chart name unless it already holds it. */}}
{{- define "agdr-operator.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels the operator's pods are selected by (immutable once installed). */}}
{{- define "agdr-operator.selectorLabels" -}}
app.kubernetes.io/name: agdr-operator
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end -}}

{{/* Labels of every object of the chart. */}}
{{- define "agdr-operator.labels" -}}
{{ include "agdr-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "agdr-operator.serviceAccountName" -}}
{{- default (include "agdr-operator.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{/* The agdr image reference: repository@digest, else repository:tag (tag defaults to appVersion). */}}
{{- define "agdr-operator.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/*
Namespaces that get the shard and coordinator NetworkPolicies: the release namespace, the
watched namespaces, networkPolicy.namespaces. Sorted and without duplicates, one per line.
*/}}
{{- define "agdr-operator.policyNamespaces" -}}
{{- $all := list .Release.Namespace -}}
{{- range .Values.watchNamespaces }}{{ $all = append $all . }}{{ end -}}
{{- range .Values.networkPolicy.namespaces }}{{ $all = append $all . }}{{ end -}}
{{- range ($all | uniq | sortAlpha) }}
{{ . }}
{{- end -}}
{{- end -}}

{{/* Where the operator pods find their Vault token and Vault's CA (the operator's defaults). */}}
{{- define "agdr-operator.vaultTokenDir" -}}
/var/run/secrets/agdr.dev/vault
{{- end -}}

{{- define "agdr-operator.vaultCaDir" -}}
/etc/agdr/vault-ca
{{- end -}}
