package main

import "syscall"

// minDefaultConnections is the floor of the derived connection cap, for
// processes started with a tiny descriptor limit.
const minDefaultConnections = 64

// defaultMaxConnections is the connection cap when none is configured:
// three quarters of the process's file-descriptor limit (Go raises the soft
// limit to the hard one at start-up), leaving the rest for upstream
// connections, spool files and the metrics listener. Without a cap,
// connections that never finish a request exhaust the descriptors and
// accept fails for everyone, health probes included.
func defaultMaxConnections() int {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur == 0 {
		return 4096
	}
	n := lim.Cur / 4 * 3
	if n < minDefaultConnections {
		return minDefaultConnections
	}
	if n > 1<<20 {
		// RLIM_INFINITY and similar: a cap that still means something.
		return 1 << 20
	}
	return int(n)
}
