{{/*
The chart name, truncated to 63 characters (DNS label limit).
*/}}
{{- define "regapi.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name of the release's resources: <release>-regapi, or just the
release name when it already contains the chart name.
*/}}
{{- define "regapi.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
chart-version for the helm.sh/chart label.
*/}}
{{- define "regapi.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels on every object.
*/}}
{{- define "regapi.labels" -}}
helm.sh/chart: {{ include "regapi.chart" . }}
{{ include "regapi.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
Labels that select the release's pods; immutable on a Deployment, so never
add the version here.
*/}}
{{- define "regapi.selectorLabels" -}}
app.kubernetes.io/name: {{ include "regapi.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
The ServiceAccount name.
*/}}
{{- define "regapi.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "regapi.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The image reference: repository@digest when a digest is set, else
repository:tag (tag defaulting to the appVersion).
*/}}
{{- define "regapi.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/*
The port name /metrics is served on: "metrics" with its own port, else "http".
*/}}
{{- define "regapi.metricsPortName" -}}
{{- if .Values.metrics.port }}metrics{{ else }}http{{ end }}
{{- end }}

{{/*
GOMEMLIMIT: 90% of the memory limit, in KiB, so the Go runtime collects
harder before the kernel's OOM killer acts. Empty when the limit is not
written in Ki, Mi or Gi; the Deployment then falls back to the full limit.
*/}}
{{- define "regapi.goMemLimit" -}}
{{- $limit := toString .Values.resources.limits.memory }}
{{- $kib := dict "Ki" 1 "Mi" 1024 "Gi" 1048576 }}
{{- if regexMatch "^[0-9]+(Ki|Mi|Gi)$" $limit }}
{{- $n := regexFind "^[0-9]+" $limit | int64 }}
{{- $unit := regexFind "(Ki|Mi|Gi)$" $limit }}
{{- printf "%dKiB" (div (mul $n (get $kib $unit) 90) 100) }}
{{- end }}
{{- end }}
