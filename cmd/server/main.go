// Command server runs regapi, an HTTP/JSON API in front of container
// registries. Run it with --help for the flags; every flag is also an
// environment variable (REGAPI_LISTEN for --listen, and so on).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// A second signal during the graceful shutdown kills the process.
		<-ctx.Done()
		stop()
	}()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "regapi:", err)
		os.Exit(1)
	}
}
