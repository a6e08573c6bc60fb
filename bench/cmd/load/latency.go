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
// templates with {tag}), one request at a time, alternating which side goes
// first so that neither profits from the other warming the registry. Each
// tag is asked for once per side, so through a cache every A request is a
// miss. It reports the median and 90th percentile per side.
func runLatency(ctx context.Context, fs *flag.FlagSet, args []string, out *output) error {
	urlA := fs.String("a", "", "side A URL template with {tag}")
	urlB := fs.String("b", "", "side B URL template with {tag}")
	tagFmt := fs.String("tag", "t%03d", "tag format for the index")
	from := fs.Int("from", 1, "first tag index")
	to := fs.Int("to", 100, "last tag index (inclusive)")
	headerA, headerB := headerFlags{}, headerFlags{}
	fs.Var(headerA, "ha", "side A header `Name: value` (repeatable)")
	fs.Var(headerB, "hb", "side B header `Name: value` (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for _, u := range []string{*urlA, *urlB} {
		if err := checkLoopback(strings.ReplaceAll(u, "{tag}", "x")); err != nil {
			return err
		}
	}
	if *to < *from || *to-*from > 10_000 {
		return errors.New("-from..-to must hold 1 to 10000 tags")
	}
	c := &http.Client{Transport: newTransport(2), Timeout: 10 * time.Second}
	var durA, durB []time.Duration
	once := func(tmpl string, h headerFlags, tag string) (time.Duration, error) {
		u := strings.ReplaceAll(tmpl, "{tag}", tag)
		start := time.Now()
		status, _, err := get(ctx, c, u, http.Header(h))
		d := time.Since(start)
		if err == nil && status != http.StatusOK {
			err = fmt.Errorf("GET %s: status %d", u, status)
		}
		return d, err
	}
	for i := *from; i <= *to; i++ {
		tag := fmt.Sprintf(*tagFmt, i)
		aFirst := i%2 == 0
		for turn := range 2 {
			if (turn == 0) == aFirst {
				d, err := once(*urlA, headerA, tag)
				if err != nil {
					return err
				}
				durA = append(durA, d)
			} else {
				d, err := once(*urlB, headerB, tag)
				if err != nil {
					return err
				}
				durB = append(durB, d)
			}
		}
	}
	out.set("n", "%d", len(durA))
	for _, s := range []struct {
		side string
		d    []time.Duration
	}{{"a", durA}, {"b", durB}} {
		slices.Sort(s.d)
		out.set(s.side+"_p50_ms", "%.3f", ms(percentile(s.d, 0.5)))
		out.set(s.side+"_p90_ms", "%.3f", ms(percentile(s.d, 0.9)))
	}
	return nil
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
