package telemetry

import (
	"io"
	"log"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Real registry traffic, pushed and pulled by go-containerregistry through
// the transport: every operation shows up under its name, and no label
// value carries the repository or tag.
func TestUpstreamTransportRealRegistry(t *testing.T) {
	m, reg, _ := newTestMetrics(t)
	srv := serve(t, ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	host := strings.TrimPrefix(srv.URL, "http://")
	base := srv.Client().Transport.(*http.Transport).Clone()
	rt := UpstreamTransport(base, "local", m)
	opts := []remote.Option{remote.WithTransport(rt), remote.WithContext(t.Context())}

	ref, err := name.ParseReference(host+"/secretorg/secretapp:secrettag", name.Insecure)
	if err != nil {
		t.Fatalf("ParseReference: %v", err)
	}
	img, err := random.Image(2048, 2)
	if err != nil {
		t.Fatalf("random.Image: %v", err)
	}
	if err := remote.Write(ref, img, opts...); err != nil {
		t.Fatalf("remote.Write: %v", err)
	}
	got, err := remote.Image(ref, opts...)
	if err != nil {
		t.Fatalf("remote.Image: %v", err)
	}
	if _, err := got.RawConfigFile(); err != nil {
		t.Fatalf("RawConfigFile: %v", err)
	}
	if _, err := remote.List(ref.Context(), opts...); err != nil {
		t.Fatalf("remote.List: %v", err)
	}
	if _, err := remote.Catalog(t.Context(), ref.Context().Registry, opts...); err != nil {
		t.Fatalf("remote.Catalog: %v", err)
	}

	ops := map[string]bool{}
	for labels, v := range series(t, reg, "regapi_upstream_requests_total") {
		for _, secret := range []string{"secretorg", "secretapp", "secrettag", "sha256"} {
			if strings.Contains(labels, secret) {
				t.Errorf("series {%s} carries %q", labels, secret)
			}
		}
		if !strings.Contains(labels, "registry=local") || v < 1 {
			t.Errorf("series {%s} = %v, want registry=local and a count", labels, v)
		}
		for _, kv := range strings.Split(labels, ",") {
			if op, ok := strings.CutPrefix(kv, "operation="); ok {
				ops[op] = true
			}
		}
	}
	for _, op := range []string{OpPing, OpBlob, OpUpload, OpManifest, OpTags, OpCatalog} {
		if !ops[op] {
			t.Errorf("operation %q not counted; got %v", op, ops)
		}
	}
	if ops[OpOther] || ops[OpStorage] {
		t.Errorf("operations %v include other/storage for plain registry traffic", ops)
	}
}

// The transport forgets a request once the request is garbage.
func TestAttemptsForgetCollectedRequests(t *testing.T) {
	a := newAttempts()
	for range 100 {
		req, err := http.NewRequest(http.MethodGet, "https://r.example/v2/", nil)
		if err != nil {
			t.Fatal(err)
		}
		at, _ := a.begin(req)
		a.end(at, 200)
	}
	// A collected request is dropped at the next sweep (len sweeps); give
	// the collector a bounded number of chances rather than a fixed delay.
	for i := 0; i < 1000 && a.len() > 0; i++ {
		runtime.GC()
		runtime.Gosched()
	}
	if n := a.len(); n != 0 {
		t.Errorf("attempts remembered after GC = %d, want 0", n)
	}
}

// The transport's memory stays bounded without anyone calling len: begin
// sweeps collected requests out once the map has doubled.
func TestAttemptsSweepAsTheyGrow(t *testing.T) {
	a := newAttempts()
	for i := range 20 * minSweep {
		req, err := http.NewRequest(http.MethodGet, "https://r.example/v2/", nil)
		if err != nil {
			t.Fatal(err)
		}
		at, _ := a.begin(req)
		a.end(at, 200)
		if i%64 == 0 {
			runtime.GC()
		}
	}
	a.mu.Lock()
	n := len(a.last)
	a.mu.Unlock()
	if n > 2*minSweep {
		t.Errorf("attempts held after %d requests = %d, want at most %d", 20*minSweep, n, 2*minSweep)
	}
}
