package check

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"
)

// spoolPath is where the chart mounts the push spool (TMPDIR).
const spoolPath = "/var/spool/regapi"

// scenario is one set of values the chart is rendered with.
type scenario struct {
	name   string
	values []string // values files, relative to the chart
	// wantKinds is how many objects of each kind the chart renders.
	wantKinds map[string]int
	// wantReplicas is Deployment.spec.replicas; 0 means unset (HPA owns it).
	wantReplicas int32
	// wantSecrets are the Secret names the pods must reference.
	wantSecrets []string
	// wantLayerCache is the --layer-cache-dir the pods get; "" for none.
	wantLayerCache string
}

var scenarios = []scenario{
	{
		name:   "defaults",
		values: nil,
		wantKinds: map[string]int{
			"ConfigMap": 1, "Service": 1, "ServiceAccount": 1, "Deployment": 1,
			"HorizontalPodAutoscaler": 1, "PodDisruptionBudget": 1,
		},
		wantLayerCache: "/var/cache/regapi",
	},
	{
		name:   "all optional features on",
		values: []string{"ci/all-on-values.yaml"},
		wantKinds: map[string]int{
			"ConfigMap": 1, "Service": 1, "ServiceAccount": 1, "Deployment": 1,
			"HorizontalPodAutoscaler": 1, "PodDisruptionBudget": 1,
			"ServiceMonitor": 1, "NetworkPolicy": 1,
		},
		wantSecrets:    []string{"regapi-ghcr", "regapi-tokens", "regapi-valkey"},
		wantLayerCache: "/var/cache/regapi",
	},
	{
		name:   "fixed replicas, no autoscaling",
		values: []string{"ci/fixed-replicas-values.yaml"},
		wantKinds: map[string]int{
			"ConfigMap": 1, "Service": 1, "ServiceAccount": 1, "Deployment": 1,
		},
		wantReplicas: 3,
	},
}

func TestChart(t *testing.T) {
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			r := render(t, sc.values...)
			if !maps.Equal(r.kinds, sc.wantKinds) {
				t.Errorf("rendered kinds = %v, want %v", r.kinds, sc.wantKinds)
			}
			d := get[appsv1.Deployment](t, r, "Deployment")
			checkReplicas(t, r, d, sc.wantReplicas)
			checkPodSecurity(t, d.Spec.Template.Spec)
			checkVolumes(t, d.Spec.Template.Spec)
			checkLayerCache(t, d.Spec.Template.Spec, sc.wantLayerCache)
			checkProbesAndResources(t, d.Spec.Template.Spec)
			checkSecretRefs(t, d.Spec.Template.Spec, sc.wantSecrets)
			checkConfig(t, r, d)
			checkService(t, r, d)
			if sc.wantKinds["PodDisruptionBudget"] > 0 {
				checkPDB(t, r, d)
			}
			if sc.wantKinds["ServiceMonitor"] > 0 {
				checkServiceMonitor(t, r)
			}
			if sc.wantKinds["NetworkPolicy"] > 0 {
				checkNetworkPolicy(t, r, d)
			}
		})
	}
}

// checkReplicas: two pods by default, from the HPA's floor or the
// Deployment's count, never both owning it.
func checkReplicas(t *testing.T, r rendered, d *appsv1.Deployment, want int32) {
	t.Helper()
	if want == 0 {
		if d.Spec.Replicas != nil {
			t.Errorf("Deployment replicas = %d, want unset (the HPA owns the count)", *d.Spec.Replicas)
		}
		hpa := get[autoscalingv2.HorizontalPodAutoscaler](t, r, "HorizontalPodAutoscaler")
		if hpa.Spec.MinReplicas == nil || *hpa.Spec.MinReplicas != 2 {
			t.Errorf("HPA minReplicas = %s, want 2", show(hpa.Spec.MinReplicas))
		}
		if hpa.Spec.MaxReplicas < 2 {
			t.Errorf("HPA maxReplicas = %d, want >= 2", hpa.Spec.MaxReplicas)
		}
		ref := hpa.Spec.ScaleTargetRef
		if ref.Kind != "Deployment" || ref.APIVersion != "apps/v1" || ref.Name != d.Name {
			t.Errorf("HPA scaleTargetRef = %+v, want apps/v1 Deployment %s", ref, d.Name)
		}
		return
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas != want {
		t.Errorf("Deployment replicas = %s, want %d", show(d.Spec.Replicas), want)
	}
}

// checkPodSecurity asserts the hardening every pod must have.
func checkPodSecurity(t *testing.T, pod corev1.PodSpec) {
	t.Helper()
	psc := pod.SecurityContext
	if psc == nil {
		t.Fatal("pod securityContext unset")
	}
	if psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod seccompProfile = %+v, want RuntimeDefault", psc.SeccompProfile)
	}
	if !isTrue(psc.RunAsNonRoot) {
		t.Errorf("pod runAsNonRoot = %s, want true", show(psc.RunAsNonRoot))
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Errorf("automountServiceAccountToken = %s, want false", show(pod.AutomountServiceAccountToken))
	}
	if pod.EnableServiceLinks == nil || *pod.EnableServiceLinks {
		t.Errorf("enableServiceLinks = %s, want false (REGAPI_* service variables collide with the server's)", show(pod.EnableServiceLinks))
	}
	if pod.HostNetwork || pod.HostPID || pod.HostIPC {
		t.Errorf("pod shares host namespaces (network %v, pid %v, ipc %v)", pod.HostNetwork, pod.HostPID, pod.HostIPC)
	}
	if len(pod.InitContainers) > 0 {
		t.Errorf("%d init containers, want none", len(pod.InitContainers))
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	for _, c := range pod.Containers {
		sc := c.SecurityContext
		if sc == nil {
			t.Fatalf("container %s: securityContext unset", c.Name)
		}
		if !isTrue(sc.ReadOnlyRootFilesystem) {
			t.Errorf("container %s: readOnlyRootFilesystem = %s, want true", c.Name, show(sc.ReadOnlyRootFilesystem))
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Errorf("container %s: allowPrivilegeEscalation = %s, want false", c.Name, show(sc.AllowPrivilegeEscalation))
		}
		if isTrue(sc.Privileged) {
			t.Errorf("container %s: privileged", c.Name)
		}
		if sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0 {
			t.Errorf("container %s: capabilities = %+v, want drop [ALL], add none", c.Name, sc.Capabilities)
		}
		if !isTrue(sc.RunAsNonRoot) && !isTrue(psc.RunAsNonRoot) {
			t.Errorf("container %s: runAsNonRoot unset", c.Name)
		}
		for _, uid := range []*int64{sc.RunAsUser, psc.RunAsUser} {
			if uid != nil && *uid == 0 {
				t.Errorf("container %s: runAsUser = 0, want non-root", c.Name)
			}
		}
		if sc.SeccompProfile != nil && sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("container %s: seccompProfile = %+v, want RuntimeDefault", c.Name, sc.SeccompProfile)
		}
		if strings.HasSuffix(c.Image, ":latest") || !strings.ContainsAny(c.Image, ":@") {
			t.Errorf("container %s: image %q, want a pinned tag or digest", c.Name, c.Image)
		}
	}
}

// checkVolumes: the only writable storage is emptyDirs, one at the spool
// path and, when the layer cache is on, one at its path passed as
// --layer-cache-dir; everything else is a read-only ConfigMap or Secret.
func checkVolumes(t *testing.T, pod corev1.PodSpec) {
	t.Helper()
	emptyDirs := map[string]bool{}
	for _, v := range pod.Volumes {
		switch {
		case v.EmptyDir != nil:
			emptyDirs[v.Name] = true
			if v.EmptyDir.SizeLimit == nil || v.EmptyDir.SizeLimit.IsZero() {
				t.Errorf("emptyDir %s: no sizeLimit", v.Name)
			}
		case v.ConfigMap != nil, v.Secret != nil:
		default:
			t.Errorf("volume %s: only configMap, secret and emptyDir volumes are allowed", v.Name)
		}
	}
	c := pod.Containers[0]
	layerCache := ""
	for _, a := range c.Args {
		if v, ok := strings.CutPrefix(a, "--layer-cache-dir="); ok {
			layerCache = v
		}
	}
	writable := map[string]bool{spoolPath: true}
	if layerCache != "" {
		writable[layerCache] = true
	}
	if len(emptyDirs) != len(writable) {
		t.Errorf("%d emptyDir volumes, want %d (the push spool, and the layer cache when on)", len(emptyDirs), len(writable))
	}
	mounted := map[string]bool{}
	for _, m := range c.VolumeMounts {
		if emptyDirs[m.Name] {
			if !writable[m.MountPath] {
				t.Errorf("emptyDir %s mounted at %s, want only %v", m.Name, m.MountPath, writable)
			}
			mounted[m.MountPath] = true
			continue
		}
		if !m.ReadOnly {
			t.Errorf("mount %s at %s is writable, want readOnly", m.Name, m.MountPath)
		}
	}
	for p := range writable {
		if !mounted[p] {
			t.Errorf("no emptyDir mounted at %s", p)
		}
	}
	if got := envValue(c, "TMPDIR"); got != spoolPath {
		t.Errorf("TMPDIR = %q, want %q", got, spoolPath)
	}
}

// checkLayerCache: on by default, the layer cache is an emptyDir whose
// sizeLimit is above the --layer-cache-max-bytes the server gets.
func checkLayerCache(t *testing.T, pod corev1.PodSpec, want string) {
	t.Helper()
	var dir, maxBytes string
	for _, a := range pod.Containers[0].Args {
		if v, ok := strings.CutPrefix(a, "--layer-cache-dir="); ok {
			dir = v
		}
		if v, ok := strings.CutPrefix(a, "--layer-cache-max-bytes="); ok {
			maxBytes = v
		}
	}
	if dir != want {
		t.Fatalf("--layer-cache-dir = %q, want %q", dir, want)
	}
	if want == "" {
		return
	}
	for _, v := range pod.Volumes {
		if v.Name != "layer-cache" || v.EmptyDir == nil || v.EmptyDir.SizeLimit == nil {
			continue
		}
		limit := v.EmptyDir.SizeLimit.Value()
		n, err := parseBinarySize(maxBytes)
		if err != nil || n <= 0 || n >= limit {
			t.Errorf("--layer-cache-max-bytes=%s (%d, %v), want a size below the emptyDir's sizeLimit %d", maxBytes, n, err, limit)
		}
		return
	}
	t.Errorf("no layer-cache emptyDir with a sizeLimit")
}

// parseBinarySize reads the forms the chart uses for byte sizes: a number
// with an optional KiB, MiB, GiB or TiB.
func parseBinarySize(s string) (int64, error) {
	factor := int64(1)
	for i, u := range []string{"KiB", "MiB", "GiB", "TiB"} {
		if strings.HasSuffix(s, u) {
			s, factor = strings.TrimSuffix(s, u), int64(1)<<(10*(i+1))
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n * factor, err
}

// checkProbesAndResources: liveness on /healthz, readiness on /readyz, both
// on the named HTTP port; requests and limits for CPU and memory.
func checkProbesAndResources(t *testing.T, pod corev1.PodSpec) {
	t.Helper()
	c := pod.Containers[0]
	probes := []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{
		{"liveness", c.LivenessProbe, "/healthz"},
		{"readiness", c.ReadinessProbe, "/readyz"},
	}
	for _, p := range probes {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("%s probe = %+v, want an httpGet", p.name, p.probe)
			continue
		}
		if p.probe.HTTPGet.Path != p.path || p.probe.HTTPGet.Port.String() != "http" {
			t.Errorf("%s probe = GET %s on port %s, want GET %s on port http", p.name, p.probe.HTTPGet.Path, p.probe.HTTPGet.Port.String(), p.path)
		}
	}
	if !hasPort(c, "http") {
		t.Errorf("container ports %+v have no port named http", c.Ports)
	}
	for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, lim := c.Resources.Requests[res], c.Resources.Limits[res]
		if req.IsZero() || lim.IsZero() {
			t.Errorf("resources %s: request %s, limit %s, want both set", res, req.String(), lim.String())
			continue
		}
		if req.Cmp(lim) > 0 {
			t.Errorf("resources %s: request %s above limit %s", res, req.String(), lim.String())
		}
	}
	checkGoMemLimit(t, c)
	checkGOGC(t, c)
}

// checkGOGC: GOGC is raised only together with GOMEMLIMIT, which bounds
// the heap it lets grow.
func checkGOGC(t *testing.T, c corev1.Container) {
	t.Helper()
	var gogc, memLimit bool
	for _, e := range c.Env {
		switch e.Name {
		case "GOGC":
			gogc = true
			if n, err := strconv.Atoi(e.Value); err != nil || n < 25 || n > 1000 {
				t.Errorf("GOGC = %q, want 25 to 1000", e.Value)
			}
		case "GOMEMLIMIT":
			memLimit = true
		}
	}
	if gogc && !memLimit {
		t.Error("GOGC is set without GOMEMLIMIT: the heap would be unbounded")
	}
}

// checkGoMemLimit: GOMEMLIMIT is below the memory limit, so the Go runtime
// collects before the OOM killer acts.
func checkGoMemLimit(t *testing.T, c corev1.Container) {
	t.Helper()
	for _, e := range c.Env {
		if e.Name != "GOMEMLIMIT" {
			continue
		}
		if e.ValueFrom != nil {
			return // the limit itself, when the chart cannot compute a fraction
		}
		kib, ok := strings.CutSuffix(e.Value, "KiB")
		n, err := strconv.ParseInt(kib, 10, 64)
		if !ok || err != nil {
			t.Fatalf("GOMEMLIMIT = %q, want <n>KiB", e.Value)
		}
		lim := c.Resources.Limits[corev1.ResourceMemory]
		if got, limit := n<<10, lim.Value(); got >= limit || got < limit*8/10 {
			t.Errorf("GOMEMLIMIT = %d bytes, want 80-100%% of the memory limit %d", got, limit)
		}
		return
	}
	t.Error("GOMEMLIMIT is not set")
}

// checkSecretRefs: the chart references existing Secrets by name and never
// carries a value.
func checkSecretRefs(t *testing.T, pod corev1.PodSpec, want []string) {
	t.Helper()
	var got []string
	for _, v := range pod.Volumes {
		if v.Secret != nil {
			got = append(got, v.Secret.SecretName)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("Secret volumes = %v, want %v", got, want)
	}
}

// checkConfig: the ConfigMap holds a YAML config file the server is pointed
// at, and a config change rolls the pods.
func checkConfig(t *testing.T, r rendered, d *appsv1.Deployment) {
	t.Helper()
	cm := get[corev1.ConfigMap](t, r, "ConfigMap")
	raw, ok := cm.Data["config.yaml"]
	if !ok {
		t.Fatalf("ConfigMap %s has no config.yaml", cm.Name)
	}
	var cfg struct {
		Upstreams []map[string]any `json:"upstreams"`
	}
	if err := yaml.Unmarshal([]byte(raw), &cfg); err != nil {
		t.Fatalf("config.yaml: %v", err)
	}
	if len(cfg.Upstreams) == 0 {
		t.Errorf("config.yaml has no upstreams:\n%s", raw)
	}
	for _, u := range cfg.Upstreams {
		for _, inline := range []string{"password", "token"} {
			if _, ok := u[inline]; ok {
				t.Errorf("upstream %v has an inline %s; want %s_file or %s_env", u["name"], inline, inline, inline)
			}
		}
	}
	c := d.Spec.Template.Spec.Containers[0]
	if !slices.Contains(c.Args, "--config=/etc/regapi/config.yaml") {
		t.Errorf("args = %v, want --config=/etc/regapi/config.yaml", c.Args)
	}
	if d.Spec.Template.Annotations["checksum/config"] == "" {
		t.Error("pod template has no checksum/config annotation")
	}
}

// checkService: the Service selects the pods and targets a container port.
func checkService(t *testing.T, r rendered, d *appsv1.Deployment) {
	t.Helper()
	svc := get[corev1.Service](t, r, "Service")
	if !selects(svc.Spec.Selector, d.Spec.Template.Labels) {
		t.Errorf("Service selector %v does not select pod labels %v", svc.Spec.Selector, d.Spec.Template.Labels)
	}
	for _, p := range svc.Spec.Ports {
		if !hasPort(d.Spec.Template.Spec.Containers[0], p.TargetPort.String()) {
			t.Errorf("Service port %s targets %s, which the container lacks", p.Name, p.TargetPort.String())
		}
	}
}

// checkPDB: the budget covers the pods and never blocks a drain outright.
func checkPDB(t *testing.T, r rendered, d *appsv1.Deployment) {
	t.Helper()
	pdb := get[policyv1.PodDisruptionBudget](t, r, "PodDisruptionBudget")
	if pdb.Spec.Selector == nil || !selects(pdb.Spec.Selector.MatchLabels, d.Spec.Template.Labels) {
		t.Errorf("PDB selector %v does not select pod labels %v", pdb.Spec.Selector, d.Spec.Template.Labels)
	}
	if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() < 1 {
		t.Errorf("PDB maxUnavailable = %s, want >= 1", show(pdb.Spec.MaxUnavailable))
	}
}

// checkServiceMonitor: it scrapes /metrics on a port the Service has.
func checkServiceMonitor(t *testing.T, r rendered) {
	t.Helper()
	sm := get[monitoringv1.ServiceMonitor](t, r, "ServiceMonitor")
	svc := get[corev1.Service](t, r, "Service")
	if !selects(sm.Spec.Selector.MatchLabels, svc.Labels) {
		t.Errorf("ServiceMonitor selector %v does not select Service labels %v", sm.Spec.Selector.MatchLabels, svc.Labels)
	}
	for _, ep := range sm.Spec.Endpoints {
		if ep.Path != "/metrics" {
			t.Errorf("ServiceMonitor path = %q, want /metrics", ep.Path)
		}
		if !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == ep.Port }) {
			t.Errorf("ServiceMonitor port %q is not a Service port", ep.Port)
		}
	}
}

// checkNetworkPolicy: it selects the pods, restricts both directions and
// never lets them reach the cloud metadata service.
func checkNetworkPolicy(t *testing.T, r rendered, d *appsv1.Deployment) {
	t.Helper()
	np := get[networkingv1.NetworkPolicy](t, r, "NetworkPolicy")
	if !selects(np.Spec.PodSelector.MatchLabels, d.Spec.Template.Labels) {
		t.Errorf("NetworkPolicy podSelector %v does not select pod labels %v", np.Spec.PodSelector.MatchLabels, d.Spec.Template.Labels)
	}
	types := np.Spec.PolicyTypes
	if !slices.Contains(types, networkingv1.PolicyTypeIngress) || !slices.Contains(types, networkingv1.PolicyTypeEgress) {
		t.Errorf("NetworkPolicy policyTypes = %v, want Ingress and Egress", types)
	}
	for _, rule := range np.Spec.Egress {
		for _, peer := range rule.To {
			if peer.IPBlock == nil {
				continue
			}
			if peer.IPBlock.CIDR == "0.0.0.0/0" && !slices.Contains(peer.IPBlock.Except, "169.254.169.254/32") {
				t.Errorf("egress to %s does not except 169.254.169.254/32", peer.IPBlock.CIDR)
			}
		}
	}
}

func isTrue(b *bool) bool { return b != nil && *b }

// show prints what a pointer field holds, or "unset".
func show[T any](p *T) string {
	if p == nil {
		return "unset"
	}
	return fmt.Sprint(*p)
}

// selects reports whether every selector label is among labels.
func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func hasPort(c corev1.Container, name string) bool {
	return slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool { return p.Name == name })
}

func envValue(c corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

// TestChartRejects: values.schema.json and the templates refuse values that
// would deploy something broken or unsafe, instead of ignoring them.
// TestChartTrustedProxies: trustedProxies becomes one --trusted-proxies
// flag, and none by default (the server then trusts no X-Forwarded-For).
func TestChartTrustedProxies(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values []string
		want   string
	}{
		{"defaults", nil, ""},
		{"all optional features on", []string{"ci/all-on-values.yaml"}, "--trusted-proxies=10.0.0.0/8,fd00::/8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := get[appsv1.Deployment](t, render(t, tc.values...), "Deployment")
			var got []string
			for _, a := range d.Spec.Template.Spec.Containers[0].Args {
				if strings.HasPrefix(a, "--trusted-proxies") {
					got = append(got, a)
				}
			}
			want := []string{}
			if tc.want != "" {
				want = append(want, tc.want)
			}
			if !slices.Equal(got, want) {
				t.Errorf("--trusted-proxies args = %q, want %q", got, want)
			}
		})
	}
}

// TestChartUI: ui becomes --ui, on by default.
func TestChartUI(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  []string
		want string
	}{
		{"defaults", nil, "--ui=true"},
		{"off", []string{"--set", "ui=false"}, "--ui=false"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := helmTemplate(t, tc.set...)
			if err != nil {
				t.Fatal(err)
			}
			r, err := decodeAll(out)
			if err != nil {
				t.Fatal(err)
			}
			d := get[appsv1.Deployment](t, r, "Deployment")
			var got []string
			for _, a := range d.Spec.Template.Spec.Containers[0].Args {
				if strings.HasPrefix(a, "--ui") {
					got = append(got, a)
				}
			}
			if !slices.Equal(got, []string{tc.want}) {
				t.Errorf("--ui args = %q, want [%s]", got, tc.want)
			}
		})
	}
}

// TestChartSharedCache: sharedCache is laid over config.cache.shared, whose
// other keys stay; a password Secret replaces a password_env of the config.
func TestChartSharedCache(t *testing.T) {
	out, err := helmTemplate(t, "--set", "sharedCache.url=redis://r.cache.svc:6379/0", "--set", "sharedCache.existingSecret=redis",
		"--set", "config.cache.shared.timeout=200ms", "--set", "config.cache.shared.lease=10s",
		"--set", "config.cache.shared.password_env=REDIS_PASSWORD", "--set", "config.cache.max_bytes=64MiB")
	if err != nil {
		t.Fatal(err)
	}
	r, err := decodeAll(out)
	if err != nil {
		t.Fatal(err)
	}
	cm := get[corev1.ConfigMap](t, r, "ConfigMap")
	var config struct {
		Cache struct {
			MaxBytes string            `json:"max_bytes"`
			Shared   map[string]string `json:"shared"`
		} `json:"cache"`
	}
	if err := yaml.Unmarshal([]byte(cm.Data["config.yaml"]), &config); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"url": "redis://r.cache.svc:6379/0", "timeout": "200ms", "lease": "10s", "password_file": "/etc/regapi/shared-cache/password"}
	if !maps.Equal(config.Cache.Shared, want) || config.Cache.MaxBytes != "64MiB" {
		t.Errorf("cache = %+v, want max_bytes 64MiB and shared %v", config.Cache, want)
	}
}

func TestChartRejects(t *testing.T) {
	tests := []struct {
		name    string
		set     string
		wantErr string
	}{
		{"misspelt key", "autoscalling.enabled=false", "additional properties 'autoscalling'"},
		{"misspelt nested key", "resources.limits.memroy=1Gi", "additional properties 'memroy'"},
		{"latest tag", "image.tag=latest", "/image/tag"},
		{"malformed digest", "image.digest=sha256:abc", "/image/digest"},
		{"credentials without a Secret", "upstreamCredentials[0].name=ghcr", "missing property 'existingSecret'"},
		{"inline value in extraEnv", "extraEnv[0].name=X,extraEnv[0].secret=y", "additional properties 'secret'"},
		{"max below min", "autoscaling.maxReplicas=1", "maxReplicas must be at least"},
		{"relative spool", "spool.mountPath=spool", "/spool/mountPath"},
		{"trusted proxy by name", "trustedProxies[0]=ingress-nginx", "/trustedProxies/0"},
		{"trusted proxies as a string", "trustedProxies=10.0.0.0/8", "/trustedProxies"},
		{"ui as a string", "ui=off", "/ui"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := helmTemplate(t, "--set", tt.set)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("helm template --set %s = %v, want an error containing %q", tt.set, err, tt.wantErr)
			}
		})
	}
}
