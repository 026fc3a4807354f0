{{/* Chart name, shortened to the 63 characters a label allows. */}}
{{- define "nightshift.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Prefix of every resource name: <release>-<chart>, or the release alone when it already contains the chart name. */}}
{{- define "nightshift.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Name of one component's resources; components are short, so the prefix is cut to leave room for them. */}}
{{- define "nightshift.componentName" -}}
{{- printf "%s-%s" (include "nightshift.fullname" .root | trunc 50 | trimSuffix "-") .name -}}
{{- end -}}

{{- define "nightshift.selectorLabels" -}}
app.kubernetes.io/name: {{ include "nightshift.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{- define "nightshift.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "nightshift.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: nightshift
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- end -}}

{{/* Labels of resources that belong to the release as a whole (ConfigMap, Secrets, ServiceAccount). */}}
{{- define "nightshift.releaseLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "nightshift.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: nightshift
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "nightshift.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "nightshift.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "nightshift.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/*
The components this release runs, as a JSON list of names, in a fixed order (stages in pipeline order, gateway last).
Consumers of Kafka are every component but the gateway.
*/}}
{{- define "nightshift.components" -}}
{{- $out := list -}}
{{- if eq .Values.mode "stages" -}}
{{- range $name := list "ingest" "perception" "reasoning" "sinks" -}}
{{- if (index $.Values.components $name).enabled -}}{{- $out = append $out $name -}}{{- end -}}
{{- end -}}
{{- else if eq .Values.mode "allInOne" -}}
{{- if .Values.components.pipeline.enabled -}}{{- $out = append $out "pipeline" -}}{{- end -}}
{{- else -}}
{{- fail (printf "mode must be stages or allInOne, not %q" .Values.mode) -}}
{{- end -}}
{{- if .Values.components.gateway.enabled -}}{{- $out = append $out "gateway" -}}{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/* The consumer groups a component reads, for KEDA's lag triggers. */}}
{{- define "nightshift.consumerGroups" -}}
{{- $prefix := .root.Values.kafka.groupPrefix -}}
{{- $stages := list .name -}}
{{- if eq .name "pipeline" -}}{{- $stages = list "ingest" "perception" "reasoning" "sinks" -}}{{- end -}}
{{- if eq .name "gateway" -}}{{- $stages = list -}}{{- end -}}
{{- $out := list -}}
{{- range $s := $stages -}}{{- $out = append $out (printf "%s-%s" $prefix $s) -}}{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/* Partitions of the topics a component reads: the most instances it can use. 0 for the gateway (reads none). */}}
{{- define "nightshift.partitionsRead" -}}
{{- $p := .root.Values.kafka.partitions -}}
{{- $by := dict "ingest" $p.raw "perception" $p.events "reasoning" $p.bundles "sinks" $p.rca -}}
{{- if eq .name "pipeline" -}}
{{- min (int $p.raw) (int $p.events) (int $p.bundles) (int $p.rca) -}}
{{- else if eq .name "gateway" -}}
0
{{- else -}}
{{- int (index $by .name) -}}
{{- end -}}
{{- end -}}

{{/* Container arguments of a component. */}}
{{- define "nightshift.args" -}}
{{- if eq .name "gateway" -}}
- gateway
{{- else if eq .name "pipeline" -}}
- run
{{- else -}}
- run
- --stage
- {{ .name }}
{{- end }}
- --config
- /etc/nightshift/config.yaml
{{- end -}}

{{/* Does the component hold secrets of its own? The LLM key goes to reasoning, sink credentials to sinks. */}}
{{- define "nightshift.needsLlm" -}}
{{- if or (eq .name "reasoning") (eq .name "pipeline") -}}true{{- end -}}
{{- end -}}
{{- define "nightshift.needsSinks" -}}
{{- if or (eq .name "sinks") (eq .name "pipeline") -}}true{{- end -}}
{{- end -}}

{{- define "nightshift.llmSecretName" -}}
{{- default (printf "%s-llm" (include "nightshift.fullname" .)) .Values.llm.apiKey.existingSecret -}}
{{- end -}}
{{- define "nightshift.ticketingSecretName" -}}
{{- default (printf "%s-ticketing" (include "nightshift.fullname" .)) .Values.ticketing.existingSecret -}}
{{- end -}}
{{- define "nightshift.clickhouseSecretName" -}}
{{- default (printf "%s-clickhouse" (include "nightshift.fullname" .)) .Values.clickhouse.password.existingSecret -}}
{{- end -}}

{{/* Bearer tokens: on when a Secret is named or the chart creates one. */}}
{{- define "nightshift.authEnabled" -}}
{{- if or .Values.auth.existingSecret .Values.auth.tokens -}}true{{- end -}}
{{- end -}}
{{- define "nightshift.tokensSecretName" -}}
{{- default (printf "%s-tokens" (include "nightshift.fullname" .)) .Values.auth.existingSecret -}}
{{- end -}}
{{/* Where the Secrets are mounted: whole directories, never subPath, so that kubelet's updates reach the pod. */}}
{{- define "nightshift.tokensDir" -}}/var/run/secrets/nightshift/tokens{{- end -}}
{{- define "nightshift.tlsDir" -}}/var/run/secrets/nightshift/tls{{- end -}}
{{- define "nightshift.clientCaDir" -}}/var/run/secrets/nightshift/client-ca{{- end -}}
{{- define "nightshift.kafkaCaDir" -}}/var/run/secrets/nightshift/kafka-ca{{- end -}}
{{- define "nightshift.kafkaClientDir" -}}/var/run/secrets/nightshift/kafka-client{{- end -}}
{{- define "nightshift.kafkaSaslDir" -}}/var/run/secrets/nightshift/kafka-sasl{{- end -}}

{{/* Refuses Kafka TLS/SASL values that would leave the pods unable to connect. */}}
{{- define "nightshift.checkKafkaSecurity" -}}
{{- $t := .Values.kafka.tls -}}
{{- $s := .Values.kafka.sasl -}}
{{- if and (not $t.enabled) (or $t.ca.existingSecret $t.clientCert.existingSecret $t.servername) -}}
{{- fail "kafka.tls.ca, kafka.tls.clientCert or kafka.tls.servername is set but kafka.tls.enabled is false" -}}
{{- end -}}
{{- if and $t.clientCert.passphraseKey (not $t.clientCert.existingSecret) -}}
{{- fail "kafka.tls.clientCert.passphraseKey needs kafka.tls.clientCert.existingSecret" -}}
{{- end -}}
{{- if $s.mechanism -}}
{{- if not $s.username -}}{{- fail "kafka.sasl.mechanism is set: kafka.sasl.username is required" -}}{{- end -}}
{{- if not $s.password.existingSecret -}}{{- fail "kafka.sasl.mechanism is set: kafka.sasl.password.existingSecret (a Secret holding the password) is required" -}}{{- end -}}
{{- else if or $s.username $s.password.existingSecret -}}
{{- fail "kafka.sasl.username or kafka.sasl.password.existingSecret is set but kafka.sasl.mechanism is empty (plain, scram-sha-256 or scram-sha-512)" -}}
{{- end -}}
{{- end -}}

{{/* Kafka TLS and SASL environment of every container: paths into the Secrets mounted by nightshift.kafkaSecurityMounts. */}}
{{- define "nightshift.kafkaSecurityEnv" -}}
{{- $t := .Values.kafka.tls -}}
{{- $s := .Values.kafka.sasl -}}
{{- if $t.enabled }}
- name: NIGHTSHIFT_KAFKA_SSL
  value: "true"
{{- if $t.ca.existingSecret }}
- name: NIGHTSHIFT_KAFKA_SSL_CA_FILE
  value: {{ printf "%s/%s" (include "nightshift.kafkaCaDir" .) $t.ca.key | quote }}
{{- end }}
{{- if $t.clientCert.existingSecret }}
- name: NIGHTSHIFT_KAFKA_SSL_CERT_FILE
  value: {{ printf "%s/%s" (include "nightshift.kafkaClientDir" .) $t.clientCert.certKey | quote }}
- name: NIGHTSHIFT_KAFKA_SSL_KEY_FILE
  value: {{ printf "%s/%s" (include "nightshift.kafkaClientDir" .) $t.clientCert.keyKey | quote }}
{{- if $t.clientCert.passphraseKey }}
- name: NIGHTSHIFT_KAFKA_SSL_KEY_PASSPHRASE_FILE
  value: {{ printf "%s/%s" (include "nightshift.kafkaClientDir" .) $t.clientCert.passphraseKey | quote }}
{{- end }}
{{- end }}
{{- if $t.servername }}
- name: NIGHTSHIFT_KAFKA_SSL_SERVERNAME
  value: {{ $t.servername | quote }}
{{- end }}
{{- if not $t.rejectUnauthorized }}
- name: NIGHTSHIFT_KAFKA_SSL_REJECT_UNAUTHORIZED
  value: "false"
{{- end }}
{{- end }}
{{- if $s.mechanism }}
- name: NIGHTSHIFT_KAFKA_SASL_MECHANISM
  value: {{ $s.mechanism | quote }}
- name: NIGHTSHIFT_KAFKA_SASL_USERNAME
  value: {{ $s.username | quote }}
- name: NIGHTSHIFT_KAFKA_SASL_PASSWORD_FILE
  value: {{ printf "%s/%s" (include "nightshift.kafkaSaslDir" .) $s.password.key | quote }}
{{- end }}
{{- end -}}

{{/* The Kafka Secrets as read-only directories (never subPath), in every pod. */}}
{{- define "nightshift.kafkaSecurityMounts" -}}
{{- $t := .Values.kafka.tls -}}
{{- if and $t.enabled $t.ca.existingSecret }}
- name: kafka-ca
  mountPath: {{ include "nightshift.kafkaCaDir" . }}
  readOnly: true
{{- end }}
{{- if and $t.enabled $t.clientCert.existingSecret }}
- name: kafka-client
  mountPath: {{ include "nightshift.kafkaClientDir" . }}
  readOnly: true
{{- end }}
{{- if .Values.kafka.sasl.mechanism }}
- name: kafka-sasl
  mountPath: {{ include "nightshift.kafkaSaslDir" . }}
  readOnly: true
{{- end }}
{{- end -}}

{{- define "nightshift.kafkaSecurityVolumes" -}}
{{- $t := .Values.kafka.tls -}}
{{- if and $t.enabled $t.ca.existingSecret }}
- name: kafka-ca
  secret:
    secretName: {{ $t.ca.existingSecret }}
    items: [{key: {{ $t.ca.key | quote }}, path: {{ $t.ca.key | quote }}}]
    defaultMode: 292 # 0444
{{- end }}
{{- if and $t.enabled $t.clientCert.existingSecret }}
- name: kafka-client
  secret:
    secretName: {{ $t.clientCert.existingSecret }}
    defaultMode: 288 # 0440: owner and group (fsGroup) read
{{- end }}
{{- if .Values.kafka.sasl.mechanism }}
- name: kafka-sasl
  secret:
    secretName: {{ .Values.kafka.sasl.password.existingSecret }}
    items: [{key: {{ .Values.kafka.sasl.password.key | quote }}, path: {{ .Values.kafka.sasl.password.key | quote }}}]
    defaultMode: 288 # 0440: owner and group (fsGroup) read
{{- end }}
{{- end -}}

{{/* Refuses combinations that would deploy something broken. */}}
{{- define "nightshift.checkAuth" -}}
{{- $v := .Values -}}
{{- if and $v.tls.clientCa.existingSecret (not $v.tls.existingSecret) -}}
{{- fail "tls.clientCa.existingSecret needs tls.existingSecret: client certificates are checked only over TLS" -}}
{{- end -}}
{{- if and (include "nightshift.authEnabled" .) $v.serviceMonitor.enabled (not $v.auth.metricsTokenKey) -}}
{{- fail "auth tokens are set and serviceMonitor.enabled: set auth.metricsTokenKey to the token Prometheus sends, or it gets 401 on /metrics" -}}
{{- end -}}
{{- if and (or $v.auth.metricsTokenKey $v.auth.readOnlyTokens) (not (include "nightshift.authEnabled" .)) -}}
{{- fail "auth.metricsTokenKey or auth.readOnlyTokens is set but there are no tokens (auth.existingSecret or auth.tokens)" -}}
{{- end -}}
{{- if and $v.auth.tokens (not $v.auth.existingSecret) -}}
{{- range $n := $v.auth.readOnlyTokens -}}
{{- if not (hasKey $v.auth.tokens $n) -}}
{{- fail (printf "auth.readOnlyTokens names %q, which is not one of auth.tokens" $n) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if and $v.auth.tokens (not $v.auth.existingSecret) $v.auth.metricsTokenKey (not (hasKey $v.auth.tokens $v.auth.metricsTokenKey)) -}}
{{- fail (printf "auth.metricsTokenKey %q is not one of auth.tokens" $v.auth.metricsTokenKey) -}}
{{- end -}}
{{- end -}}

{{/* Environment of a component's container. */}}
{{- define "nightshift.env" -}}
{{- $v := .root.Values -}}
- name: NIGHTSHIFT_KAFKA_BROKERS
  value: {{ required "kafka.brokers is required" $v.kafka.brokers | quote }}
- name: NIGHTSHIFT_KAFKA_GROUP_PREFIX
  value: {{ $v.kafka.groupPrefix | quote }}
- name: NIGHTSHIFT_KAFKA_PARTITIONS_RAW
  value: {{ $v.kafka.partitions.raw | quote }}
- name: NIGHTSHIFT_KAFKA_PARTITIONS_EVENTS
  value: {{ $v.kafka.partitions.events | quote }}
- name: NIGHTSHIFT_KAFKA_PARTITIONS_BUNDLES
  value: {{ $v.kafka.partitions.bundles | quote }}
- name: NIGHTSHIFT_KAFKA_PARTITIONS_RCA
  value: {{ $v.kafka.partitions.rca | quote }}
{{- include "nightshift.kafkaSecurityEnv" .root }}
- name: NIGHTSHIFT_OPS_PORT
  value: {{ $v.opsPort | quote }}
- name: NIGHTSHIFT_OPS_HOST
  value: {{ $v.host | quote }}
{{- if include "nightshift.authEnabled" .root }}
- name: NIGHTSHIFT_TOKENS_FILE
  value: {{ include "nightshift.tokensDir" .root | quote }}
- name: NIGHTSHIFT_RATE_LIMIT
  value: {{ $v.auth.rateLimit.perSecond | quote }}
- name: NIGHTSHIFT_RATE_BURST
  value: {{ $v.auth.rateLimit.burst | quote }}
{{- $readOnly := $v.auth.readOnlyTokens }}
{{- if $v.auth.metricsTokenKey }}{{- $readOnly = append $readOnly $v.auth.metricsTokenKey | uniq }}{{- end }}
{{- if $readOnly }}
- name: NIGHTSHIFT_READ_ONLY_TOKENS
  value: {{ join "," $readOnly | quote }}
{{- end }}
{{- end }}
- name: NODE_OPTIONS
  value: {{ printf "--max-old-space-size=%d" (int .component.maxOldSpaceMiB) | quote }}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
{{- if eq .name "gateway" }}
- name: NIGHTSHIFT_GATEWAY_PORT
  value: {{ .component.port | quote }}
- name: NIGHTSHIFT_GATEWAY_HOST
  value: {{ $v.host | quote }}
{{- if $v.tls.existingSecret }}
- name: NIGHTSHIFT_TLS_CERT
  value: {{ printf "%s/tls.crt" (include "nightshift.tlsDir" .root) | quote }}
- name: NIGHTSHIFT_TLS_KEY
  value: {{ printf "%s/tls.key" (include "nightshift.tlsDir" .root) | quote }}
{{- if $v.tls.clientCa.existingSecret }}
- name: NIGHTSHIFT_TLS_CLIENT_CA
  value: {{ printf "%s/%s" (include "nightshift.clientCaDir" .root) $v.tls.clientCa.key | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- if include "nightshift.needsLlm" . }}
{{- if $v.llm.model }}
- name: NIGHTSHIFT_LLM_MODEL
  value: {{ $v.llm.model | quote }}
{{- end }}
{{- if $v.llm.baseUrl }}
- name: OPENAI_BASE_URL
  value: {{ $v.llm.baseUrl | quote }}
{{- end }}
{{- if or $v.llm.apiKey.existingSecret $v.llm.apiKey.value }}
- name: OPENAI_API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "nightshift.llmSecretName" .root }}
      key: {{ $v.llm.apiKey.key }}
{{- end }}
{{- end }}
{{- if include "nightshift.needsSinks" . }}
{{- if $v.clickhouse.url }}
- name: NIGHTSHIFT_CLICKHOUSE_URL
  value: {{ $v.clickhouse.url | quote }}
- name: NIGHTSHIFT_CLICKHOUSE_DATABASE
  value: {{ $v.clickhouse.database | quote }}
{{- if $v.clickhouse.user }}
- name: NIGHTSHIFT_CLICKHOUSE_USER
  value: {{ $v.clickhouse.user | quote }}
{{- end }}
{{- if or $v.clickhouse.password.existingSecret $v.clickhouse.password.value }}
- name: NIGHTSHIFT_CLICKHOUSE_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "nightshift.clickhouseSecretName" .root }}
      key: {{ $v.clickhouse.password.key }}
{{- end }}
{{- else }}
- name: NIGHTSHIFT_ANALYTICS
  value: "off"
{{- end }}
{{- range $k, $val := $v.ticketing.env }}
- name: {{ $k }}
  value: {{ $val | quote }}
{{- end }}
{{- end }}
{{- with $v.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "nightshift.envFrom" -}}
{{- $v := .root.Values -}}
{{- if and (include "nightshift.needsSinks" .) (or $v.ticketing.existingSecret $v.ticketing.credentials) }}
- secretRef:
    name: {{ include "nightshift.ticketingSecretName" .root }}
{{- end }}
{{- with $v.extraEnvFrom }}
{{ toYaml . }}
{{- end }}
{{- end -}}
