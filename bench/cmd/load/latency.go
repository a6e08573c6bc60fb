package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// runLatency requests each tag once from side A and once from side B (URL
// templates with {tag}), and from side C too when -c is given, one request
// at a time. The order of the sides changes from tag to tag (with two
// sides they alternate; with three, the tags cycle through all six orders)
// so that each side goes first, second and last, and after each other
// side, equally often: none profits systematically from another warming
// the registry. Each tag is asked for once per side, so through a cache
// every request is a miss. It reports the median and 90th percentile per
// side.
func runLatency(ctx context.Context, fs *flag.FlagSet, args []string, out *output) error {
	urlA := fs.String("a", "", "side A URL template with {tag}")
	urlB := fs.String("b", "", "side B URL template with {tag}")
	urlC := fs.String("c", "", "optional side C URL template with {tag}")
	tagFmt := fs.String("tag", "t%03d", "tag format for the index")
	from := fs.Int("from", 1, "first tag index")
	to := fs.Int("to", 100, "last tag index (inclusive)")
	headerA, headerB, headerC := headerFlags{}, headerFlags{}, headerFlags{}
	fs.Var(headerA, "ha", "side A header `Name: value` (repeatable)")
	fs.Var(headerB, "hb", "side B header `Name: value` (repeatable)")
	fs.Var(headerC, "hc", "side C header `Name: value` (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	type side struct {
		name   string
		tmpl   string
		header headerFlags
		d      []time.Duration
	}
	sides := []*side{{name: "a", tmpl: *urlA, header: headerA}, {name: "b", tmpl: *urlB, header: headerB}}
	if *urlC != "" {
		sides = append(sides, &side{name: "c", tmpl: *urlC, header: headerC})
	} else if len(headerC) > 0 {
		return errors.New("-hc without -c")
	}
	for _, s := range sides {
		if err := checkLoopback(strings.ReplaceAll(s.tmpl, "{tag}", "x")); err != nil {
			return err
		}
	}
	if *to < *from || *to-*from > 10_000 {
		return errors.New("-from..-to must hold 1 to 10000 tags")
	}
	// One idle connection per side: fewer would close one side's connection
	// to keep another's and make it dial again.
	c := &http.Client{Transport: newTransport(len(sides)), Timeout: 10 * time.Second}
	once := func(s *side, tag string) error {
		u := strings.ReplaceAll(s.tmpl, "{tag}", tag)
		start := time.Now()
		status, _, err := get(ctx, c, u, http.Header(s.header))
		d := time.Since(start)
		if err == nil && status != http.StatusOK {
			err = fmt.Errorf("GET %s: status %d", u, status)
		}
		s.d = append(s.d, d)
		return err
	}
	orders := sideOrders(len(sides))
	for i := *from; i <= *to; i++ {
		tag := fmt.Sprintf(*tagFmt, i)
		for _, k := range orders[i%len(orders)] {
			if err := once(sides[k], tag); err != nil {
				return err
			}
		}
	}
	out.set("n", "%d", len(sides[0].d))
	for _, s := range sides {
		slices.Sort(s.d)
		out.set(s.name+"_p50_ms", "%.3f", ms(percentile(s.d, 0.5)))
		out.set(s.name+"_p90_ms", "%.3f", ms(percentile(s.d, 0.9)))
	}
	return nil
}

// sideOrders lists the orders in which n sides (0..n-1) take their turns:
// the n rotations of 0..n-1, then the rotations of the reverse that are not
// already listed. For two sides that is 01, 10; for three, all six orders,
// in which each side is first, second and last twice, and follows each
// other side twice.
func sideOrders(n int) [][]int {
	var orders [][]int
	for _, rev := range []bool{false, true} {
		for r := range n {
			o := make([]int, n)
			for k := range n {
				o[k] = (r + k) % n
				if rev {
					o[k] = n - 1 - o[k]
				}
			}
			if !slices.ContainsFunc(orders, func(p []int) bool { return slices.Equal(p, o) }) {
				orders = append(orders, o)
			}
		}
	}
	return orders
}

// percentile returns the q-quantile of sorted d (nearest rank).
func percentile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	i := int(q*float64(len(d))+0.5) - 1
	return d[min(max(i, 0), len(d)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
