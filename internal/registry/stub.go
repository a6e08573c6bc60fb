package registry

// STUB: replaced by the real implementation (issue 2). Exists so that other
// packages compile against the Client interface meanwhile.

// NewClientWithOptions returns a client for host ("registry.example.com",
// "127.0.0.1:5000", optionally followed by a path). opts may be nil.
func NewClientWithOptions(host string, opts *Options) Client {
	panic("registry: not implemented yet")
}
