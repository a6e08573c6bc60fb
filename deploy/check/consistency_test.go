package check

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	appsv1 "k8s.io/api/apps/v1"
)

// TestImageMatchesChart: the uid the chart runs as is the image's USER, and
// the port it probes is one the image exposes, so a change on one side alone
// fails here rather than in a cluster.
func TestImageMatchesChart(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(repoRoot(t), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	stages := parseDockerfile(t, src)
	final := stages[len(stages)-1]
	var uid int64 = -1
	var exposed []string
	for _, c := range final.Commands {
		switch c := c.(type) {
		case *instructions.UserCommand:
			u, _, _ := strings.Cut(c.User, ":")
			if n, err := strconv.ParseInt(u, 10, 64); err == nil {
				uid = n
			}
		case *instructions.ExposeCommand:
			for _, p := range c.Ports {
				port, _, _ := strings.Cut(p, "/")
				exposed = append(exposed, port)
			}
		}
	}

	d := get[appsv1.Deployment](t, render(t), "Deployment")
	spec := d.Spec.Template.Spec
	c := spec.Containers[0]
	for _, ctx := range []struct {
		where string
		uid   *int64
	}{
		{"pod", spec.SecurityContext.RunAsUser},
		{"container", c.SecurityContext.RunAsUser},
	} {
		if ctx.uid != nil && *ctx.uid != uid {
			t.Errorf("%s runAsUser = %d, want the image's USER %d", ctx.where, *ctx.uid, uid)
		}
	}
	for _, p := range c.Ports {
		if p.Name == "http" && !slices.Contains(exposed, strconv.Itoa(int(p.ContainerPort))) {
			t.Errorf("container port http = %d, image exposes %v", p.ContainerPort, exposed)
		}
	}
}
