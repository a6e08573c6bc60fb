package check

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// releaseName is the name the chart is rendered under. "regapi" makes the
// Service "regapi", the name whose service links would collide with the
// server's REGAPI_* variables.
const releaseName = "regapi"

// kubeVersion is the cluster version helm renders for; helm's default (1.20)
// is below the chart's kubeVersion.
const kubeVersion = "1.34.0"

// newObject maps every apiVersion/kind the chart may render to its Go type.
// A kind missing here fails the check: a new template must be registered.
var newObject = map[string]func() any{
	"v1/ConfigMap":                            func() any { return &corev1.ConfigMap{} },
	"v1/Service":                              func() any { return &corev1.Service{} },
	"v1/ServiceAccount":                       func() any { return &corev1.ServiceAccount{} },
	"apps/v1/Deployment":                      func() any { return &appsv1.Deployment{} },
	"autoscaling/v2/HorizontalPodAutoscaler":  func() any { return &autoscalingv2.HorizontalPodAutoscaler{} },
	"policy/v1/PodDisruptionBudget":           func() any { return &policyv1.PodDisruptionBudget{} },
	"networking.k8s.io/v1/NetworkPolicy":      func() any { return &networkingv1.NetworkPolicy{} },
	"monitoring.coreos.com/v1/ServiceMonitor": func() any { return &monitoringv1.ServiceMonitor{} },
}

// rendered is the chart's output decoded, one typed object per kind.
type rendered struct {
	objects map[string]any // "Kind/name" → *T
	kinds   map[string]int // Kind → count
}

// get returns the one object of kind, or fails.
func get[T any](t *testing.T, r rendered, kind string) *T {
	t.Helper()
	var found *T
	for key, obj := range r.objects {
		if !strings.HasPrefix(key, kind+"/") {
			continue
		}
		if found != nil {
			t.Fatalf("more than one %s rendered", kind)
		}
		o, ok := obj.(*T)
		if !ok {
			t.Fatalf("%s decoded as %T", key, obj)
		}
		found = o
	}
	if found == nil {
		t.Fatalf("no %s rendered; kinds: %v", kind, r.kinds)
	}
	return found
}

// helmBinary is the helm that deploy/check.sh built.
func helmBinary(t *testing.T) string {
	t.Helper()
	helm := os.Getenv("REGAPI_HELM")
	if helm == "" {
		t.Fatal("REGAPI_HELM is unset: run deploy/check.sh, which builds helm and sets it")
	}
	return helm
}

// render runs helm template on the chart with the given values files
// (relative to the chart) and decodes every object strictly.
func render(t *testing.T, valuesFiles ...string) rendered {
	t.Helper()
	var args []string
	for _, f := range valuesFiles {
		args = append(args, "--values", filepath.Join(chartDir(t), f))
	}
	out, err := helmTemplate(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	r, err := decodeAll(out)
	if err != nil {
		t.Fatalf("decode helm template %v: %v", valuesFiles, err)
	}
	return r
}

// helmTemplate runs helm template on the chart with extra arguments and
// returns the rendered stream, or an error holding helm's stderr.
func helmTemplate(t *testing.T, extra ...string) ([]byte, error) {
	t.Helper()
	args := append([]string{"template", releaseName, chartDir(t), "--namespace", "regapi", "--kube-version", kubeVersion}, extra...)
	cmd := exec.Command(helmBinary(t), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("helm %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out, nil
}

// docSeparator splits a YAML stream into documents.
var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// decodeAll decodes a multi-document YAML stream strictly: each document must
// be a registered kind and may hold no field its Go type lacks, and no
// duplicate keys.
func decodeAll(stream []byte) (rendered, error) {
	r := rendered{objects: map[string]any{}, kinds: map[string]int{}}
	for i, doc := range docSeparator.Split(string(stream), -1) {
		if strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		var meta metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
			return r, fmt.Errorf("document %d: %w", i, err)
		}
		gvk := meta.APIVersion + "/" + meta.Kind
		mk, ok := newObject[gvk]
		if !ok {
			return r, fmt.Errorf("document %d: unregistered kind %q", i, gvk)
		}
		obj := mk()
		if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
			return r, fmt.Errorf("document %d (%s): %w", i, gvk, err)
		}
		name := obj.(metav1.Object).GetName()
		if name == "" {
			return r, fmt.Errorf("document %d (%s): no metadata.name", i, gvk)
		}
		key := meta.Kind + "/" + name
		if _, dup := r.objects[key]; dup {
			return r, fmt.Errorf("%s rendered twice", key)
		}
		r.objects[key] = obj
		r.kinds[meta.Kind]++
	}
	return r, nil
}

// stripComments drops whole-line YAML comments (helm's "# Source:" lines).
func stripComments(doc string) string {
	var b strings.Builder
	for line := range strings.SplitSeq(doc, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String()
}

func TestDecodeAllIsStrict(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		wantErr string
	}{
		{
			name:    "unknown field",
			doc:     "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  prots: []\n",
			wantErr: "unknown field",
		},
		{
			name:    "misspelt security field",
			doc:     "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\nspec:\n  template:\n    spec:\n      containers:\n        - name: c\n          securityContext:\n            readOnlyRootFilesytem: true\n",
			wantErr: "unknown field",
		},
		{
			name:    "duplicate key",
			doc:     "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  name: y\n",
			wantErr: "already set",
		},
		{
			name:    "unregistered kind",
			doc:     "apiVersion: v1\nkind: Secret\nmetadata:\n  name: x\n",
			wantErr: "unregistered kind",
		},
		{
			name:    "wrong type",
			doc:     "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  ports: 80\n",
			wantErr: "cannot unmarshal",
		},
		{
			name: "valid",
			doc:  "# Source: x\napiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  ports:\n    - port: 80\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeAll([]byte("---\n" + tt.doc))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("decodeAll() = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("decodeAll() = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}
