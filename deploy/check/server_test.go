package check

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// TestServerAcceptsChart runs the real server binary the way the chart's pod
// would: the Deployment's args and environment, the ConfigMap's config file,
// dummy files where Secrets are mounted. It must become ready, answer the
// probe paths and /metrics on the ports the chart names, and exit 0 on
// SIGTERM within the pod's grace period. This is what keeps the chart and
// cmd/server's flags and config schema in step.
func TestServerAcceptsChart(t *testing.T) {
	bin := buildLikeDockerfile(t)
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			r := render(t, sc.values...)
			d := get[appsv1.Deployment](t, r, "Deployment")
			cm := get[corev1.ConfigMap](t, r, "ConfigMap")
			pod := newFakePod(t, d, cm)
			pod.run(t, bin)
		})
	}
}

// fakePod is a pod's container rebased onto a temporary directory: paths
// under /etc/regapi and the spool move there, ports bind to loopback.
type fakePod struct {
	root  string            // stands in for /
	args  []string          // the container's args, rebased
	env   []string          // the container's environment, resolved
	ports map[string]string // port name → 127.0.0.1:port
	grace time.Duration
}

func newFakePod(t *testing.T, d *appsv1.Deployment, cm *corev1.ConfigMap) *fakePod {
	t.Helper()
	spec := d.Spec.Template.Spec
	c := spec.Containers[0]
	p := &fakePod{root: t.TempDir(), ports: map[string]string{}}
	if spec.TerminationGracePeriodSeconds != nil {
		p.grace = time.Duration(*spec.TerminationGracePeriodSeconds) * time.Second
	}
	for _, port := range c.Ports {
		p.ports[port.Name] = freeLoopbackAddr(t)
	}

	// Mounts: the ConfigMap's config.yaml, a file for every path the config
	// names under a Secret mount, the writable spool.
	config := cm.Data["config.yaml"]
	for _, m := range c.VolumeMounts {
		dir := p.path(m.MountPath)
		switch v := volume(t, spec, m.Name); {
		case v.ConfigMap != nil && m.SubPath != "":
			p.write(t, dir, cm.Data[m.SubPath])
		case v.Secret != nil:
			for _, f := range referencedFiles(t, config, m.MountPath) {
				// Long enough for regapi's minimum caller-token length.
				p.write(t, p.path(f), "dummy-secret-for-"+filepath.Base(f))
			}
		case v.EmptyDir != nil:
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
		}
	}
	p.write(t, p.path("/etc/regapi/config.yaml"), strings.ReplaceAll(config, "/etc/regapi/", p.path("/etc/regapi")+"/"))

	for _, a := range c.Args {
		p.args = append(p.args, p.rebaseArg(t, c, a))
	}
	p.env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + p.root}
	for _, e := range c.Env {
		p.env = append(p.env, e.Name+"="+p.envValue(t, c, e))
	}
	return p
}

// path maps an absolute container path into the fake root.
func (p *fakePod) path(containerPath string) string {
	return filepath.Join(p.root, filepath.FromSlash(containerPath))
}

func (p *fakePod) write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// rebaseArg moves file paths into the fake root and :port listeners to the
// loopback port chosen for that container port.
func (p *fakePod) rebaseArg(t *testing.T, c corev1.Container, arg string) string {
	t.Helper()
	name, value, ok := strings.Cut(arg, "=")
	switch {
	case !ok:
		return arg
	case strings.HasPrefix(value, "/"):
		return name + "=" + p.path(value)
	case strings.HasPrefix(value, ":"):
		n, err := strconv.Atoi(value[1:])
		if err != nil {
			t.Fatalf("arg %s: port %q", arg, value)
		}
		for _, port := range c.Ports {
			if int(port.ContainerPort) == n {
				return name + "=" + p.ports[port.Name]
			}
		}
		t.Fatalf("arg %s listens on %d, which is not a container port", arg, n)
	}
	return arg
}

// envValue resolves an env entry as the kubelet would, with dummy Secret values.
func (p *fakePod) envValue(t *testing.T, c corev1.Container, e corev1.EnvVar) string {
	t.Helper()
	switch {
	case e.ValueFrom == nil:
		if strings.HasPrefix(e.Value, "/") {
			return p.path(e.Value)
		}
		return e.Value
	case e.ValueFrom.SecretKeyRef != nil:
		return "dummy-" + e.ValueFrom.SecretKeyRef.Key
	case e.ValueFrom.ResourceFieldRef != nil:
		res := strings.TrimPrefix(e.ValueFrom.ResourceFieldRef.Resource, "limits.")
		q, ok := c.Resources.Limits[corev1.ResourceName(res)]
		if !ok {
			t.Fatalf("env %s: no limit for %s", e.Name, res)
		}
		return strconv.FormatInt(q.Value(), 10)
	}
	t.Fatalf("env %s: unsupported valueFrom %+v", e.Name, e.ValueFrom)
	return ""
}

// run starts the server, waits for readiness, probes it, then stops it.
func (p *fakePod) run(t *testing.T, bin string) {
	t.Helper()
	var out bytes.Buffer
	cmd := exec.Command(bin, p.args...)
	cmd.Env = p.env
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	defer func() {
		if !stopped {
			cmd.Process.Kill()
			<-exited
		}
	}()

	api := p.ports["http"]
	if err := waitReady(api, exited); err != nil {
		stopped = true
		t.Fatalf("regapi %s: %v\n%s", strings.Join(p.args, " "), err, out.String())
	}
	metrics := api
	if m, ok := p.ports["metrics"]; ok {
		metrics = m
	}
	for _, probe := range []string{"http://" + api + "/healthz", "http://" + api + "/readyz", "http://" + metrics + "/metrics"} {
		if code := get200(probe); code != 200 {
			t.Errorf("GET %s = %d, want 200", probe, code)
		}
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		stopped = true
		if err != nil {
			t.Errorf("regapi after SIGTERM: %v, want exit 0\n%s", err, out.String())
		}
	case <-time.After(p.grace):
		t.Errorf("regapi still running %s after SIGTERM (terminationGracePeriodSeconds)\n%s", p.grace, out.String())
	}
}

// waitReady polls /readyz until it answers 200, the process exits or 30s pass.
func waitReady(addr string, exited <-chan error) error {
	deadline := time.After(30 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-exited:
			return fmt.Errorf("exited before ready: %v", err)
		case <-deadline:
			return fmt.Errorf("not ready on %s after 30s", addr)
		case <-tick.C:
			if get200("http://"+addr+"/readyz") == 200 {
				return nil
			}
		}
	}
}

func get200(url string) int {
	client := http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// freeLoopbackAddr returns a loopback address with a port free right now.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func volume(t *testing.T, spec corev1.PodSpec, name string) corev1.Volume {
	t.Helper()
	for _, v := range spec.Volumes {
		if v.Name == name {
			return v
		}
	}
	t.Fatalf("volume mount %s has no volume", name)
	return corev1.Volume{}
}

// referencedFiles lists the strings in the config file that are paths under
// mountPath, i.e. the Secret keys the config expects.
func referencedFiles(t *testing.T, config, mountPath string) []string {
	t.Helper()
	var doc any
	if err := yaml.Unmarshal([]byte(config), &doc); err != nil {
		t.Fatalf("config.yaml: %v", err)
	}
	var files []string
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		case string:
			if strings.HasPrefix(v, mountPath+"/") {
				files = append(files, v)
			}
		}
	}
	walk(doc)
	return files
}
