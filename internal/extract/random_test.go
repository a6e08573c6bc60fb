package extract

import (
	"archive/tar"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// randomSpecs makes layers whose names collide often (a small alphabet, a
// shallow tree) so that shadowing, whiteouts, opaque directories and links
// interact. With escape set it also mixes in names that leave the root.
func randomSpecs(r *rand.Rand, escape bool) []layerSpec {
	parts := []string{"a", "b", "c", "etc", "usr"}
	name := func() string {
		n := 1 + r.IntN(3)
		var p []string
		for range n {
			p = append(p, parts[r.IntN(len(parts))])
		}
		s := strings.Join(p, "/")
		switch r.IntN(8) {
		case 0:
			s = "./" + s
		case 1:
			s += "/"
		}
		return s
	}
	var specs []layerSpec
	for range 1 + r.IntN(5) {
		var spec layerSpec
		for range r.IntN(30) {
			n := name()
			switch k := r.IntN(20); {
			case k < 7:
				spec = append(spec, file(strings.TrimSuffix(n, "/"), strings.Repeat(string("abcdefghijklmnopqrstuvwxyz"[r.IntN(26)]), r.IntN(3000))))
			case k < 11:
				spec = append(spec, dir(n))
			case k < 13:
				targets := []string{name(), "/" + name(), "../" + name(), "x/../../" + name(), "."}
				spec = append(spec, symlink(strings.TrimSuffix(n, "/"), targets[r.IntN(len(targets))]))
			case k < 14:
				spec = append(spec, hardlink(strings.TrimSuffix(n, "/"), strings.TrimSuffix(name(), "/")))
			case k < 17:
				d, b := splitName(strings.TrimSuffix(n, "/"))
				spec = append(spec, whiteout(d+".wh."+b))
			case k < 18:
				d, _ := splitName(strings.TrimSuffix(n, "/"))
				spec = append(spec, whiteout(d+".wh..wh..opq"))
			case k < 19:
				spec = append(spec, fifo(strings.TrimSuffix(n, "/")))
			default:
				if escape {
					esc := []string{"../" + n, "/" + n, "a/../../" + n}
					spec = append(spec, file(strings.TrimSuffix(esc[r.IntN(len(esc))], "/"), "escape"))
				}
			}
		}
		specs = append(specs, spec)
	}
	return specs
}

// splitName returns "dir/" (or "") and the base of n.
func splitName(n string) (string, string) {
	i := strings.LastIndex(n, "/")
	return n[:i+1], n[i+1:]
}

func escapingName(e tent) bool {
	c := strings.TrimPrefix(e.name, "./")
	return strings.HasPrefix(c, "/") || strings.HasPrefix(c, "../") || strings.Contains(c, "/../../")
}

func TestFlattenMatchesMutateExtractRandom(t *testing.T) {
	for seed := range uint64(120) {
		r := rand.New(rand.NewPCG(seed, 42))
		escape := seed%3 == 0
		specs := randomSpecs(r, escape)
		raw, clean := build(t, specs, escapingName)
		want, err := craneExport(t, clean)
		if err != nil {
			t.Fatalf("seed %d: mutate.Extract = %v", seed, err)
		}
		got, err := flatten(t, raw, WithPrefetchLayers(int(seed%4)), WithPrefetchBytes(int64(seed%3)*chunkSize))
		if err != nil {
			t.Fatalf("seed %d: Flatten() = %v", seed, err)
		}
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) { assertSameTar(t, got, want) })
	}
}

// TestRandomSpecsCoverage keeps the generator honest: across the seeds the
// output must show the cases the equality test is meant to exercise.
func TestRandomSpecsCoverage(t *testing.T) {
	seen := map[string]int{}
	for seed := range uint64(120) {
		r := rand.New(rand.NewPCG(seed, 42))
		specs := randomSpecs(r, seed%3 == 0)
		layers, _ := build(t, specs, escapingName)
		out, err := flatten(t, layers)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range listTar(t, out) {
			f := strings.Fields(e)
			seen["type "+f[1]]++
		}
		for _, s := range specs {
			for _, e := range s {
				if strings.Contains(e.name, ".wh..wh..opq") {
					seen["opaque"]++
				} else if strings.Contains(e.name, ".wh.") {
					seen["whiteout"]++
				}
				if escapingName(e) {
					seen["escape"]++
				}
			}
		}
		if len(specs) > 1 {
			seen["multilayer"]++
		}
	}
	for _, k := range []string{"type " + string(tar.TypeReg), "type " + string(tar.TypeDir), "type " + string(tar.TypeSymlink),
		"type " + string(tar.TypeLink), "type " + string(tar.TypeFifo), "opaque", "whiteout", "escape", "multilayer"} {
		if seen[k] < 10 {
			t.Errorf("random images show %q %d times, want at least 10", k, seen[k])
		}
	}
}
