// Command seed pushes regapi's benchmark corpus into a registry on loopback:
// nested repositories, a repository with many tags (each its own manifest),
// a multi-arch index, an image kept for the concurrent cold-request test and
// a large image in several gzip layers. Every byte is generated from fixed
// seeds, so two runs push the same digests.
//
// It prints what it pushed as key=value lines for bench/run.sh.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "seed:", err)
		os.Exit(1)
	}
}

// corpus is what seed pushes.
type corpus struct {
	host      string
	tags      int
	nested    int
	bigMiB    int
	bigLayers int
	filesMiB  int
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	var c corpus
	fs.StringVar(&c.host, "registry", "", "registry `host:port` on 127.0.0.1 (plain HTTP)")
	fs.IntVar(&c.tags, "tags", 150, "tags in corpus/tags, each a distinct manifest")
	fs.IntVar(&c.nested, "nested", 24, "nested repositories under corpus/nested")
	fs.IntVar(&c.bigMiB, "big-mib", 256, "uncompressed size of corpus/big in MiB")
	fs.IntVar(&c.bigLayers, "big-layers", 8, "gzip layers of corpus/big")
	fs.IntVar(&c.filesMiB, "files-mib", 256, "size of corpus/files (4 layers of random bytes; 0: none)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(c.host)
	if err != nil || host != "127.0.0.1" {
		return errors.New("--registry must be 127.0.0.1:PORT")
	}
	if c.tags < 2 || c.nested < 1 || c.bigMiB < 1 || c.bigLayers < 1 {
		return errors.New("--tags must be at least 2, --nested, --big-mib and --big-layers at least 1")
	}

	p, err := newPusher(ctx, c.host)
	if err != nil {
		return err
	}
	started := time.Now()
	small, err := buildLayer(1000, 16<<10)
	if err != nil {
		return err
	}
	if err := p.pushTags(ctx, "corpus/tags", c.tags, small); err != nil {
		return err
	}
	if err := p.pushNested(ctx, c.nested, small); err != nil {
		return err
	}
	idx, err := p.pushIndex(ctx, "corpus/multi:latest", small)
	if err != nil {
		return err
	}
	// corpus/burst:warm lets the benchmark do the repository's handshake
	// before the burst asks for corpus/burst:cold.
	if _, err := p.pushSmall(ctx, "corpus/burst:warm", small, map[string]string{"purpose": "warm-up"}); err != nil {
		return err
	}
	burst, err := p.pushSmall(ctx, "corpus/burst:cold", small, map[string]string{"purpose": "burst"})
	if err != nil {
		return err
	}
	big, err := p.pushBig(ctx, "corpus/big:latest", int64(c.bigMiB)<<20, c.bigLayers)
	if err != nil {
		return err
	}

	if c.filesMiB > 0 {
		files, err := p.pushFiles(ctx, "corpus/files:latest", c.filesMiB)
		if err != nil {
			return err
		}
		// run.sh reads these lines: a failed write fails the seed.
		if _, err := fmt.Fprintf(stdout, "files_ref=corpus/files:latest\nfiles_digest=%s\nfiles_mib=%d\n", files, c.filesMiB); err != nil {
			return err
		}
	}
	// run.sh reads these lines: a failed write fails the seed.
	_, err = fmt.Fprintf(stdout, "tags_repo=corpus/tags\ntags_count=%d\n"+
		"nested_repos=%d\n"+
		"multi_ref=corpus/multi:latest\nmulti_digest=%s\n"+
		"burst_ref=corpus/burst:cold\nburst_digest=%s\n"+
		"big_ref=corpus/big:latest\nbig_digest=%s\n"+
		"big_layers=%d\nbig_uncompressed_bytes=%d\nbig_compressed_bytes=%d\n"+
		"seed_seconds=%.1f\n",
		c.tags, c.nested, idx, burst, big.digest,
		c.bigLayers, big.uncompressed, big.compressed,
		time.Since(started).Seconds())
	return err
}
