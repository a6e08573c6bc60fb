package handlers

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/regapi/regapi/internal/registry"
)

// Writes configures the write routes: image uploads, copies and syncs.
// Zero fields take the defaults named on each.
type Writes struct {
	// SpoolDir is the directory uploads are spooled to while they are
	// validated and pushed; each upload is one regapi-upload-*.tar file
	// that exists only during its request. The default value is
	// os.TempDir().
	SpoolDir string
	// MaxUploadBytes caps one upload, as received and once decompressed
	// (413 beyond). The default value is 2 GiB.
	MaxUploadBytes int64
	// UploadConcurrency bounds the uploads in progress; later ones wait
	// for a slot without reading their body. The spool needs up to
	// UploadConcurrency × MaxUploadBytes of disk. The default value is 2.
	UploadConcurrency int
	// UploadIdleTimeout ends an upload whose body makes no progress for
	// this long. The server has no read timeout (uploads are large), so
	// without it a stalled client would hold a slot forever. The default
	// value is 1m.
	UploadIdleTimeout time.Duration
	// UploadMinRate is the average rate, in bytes per second, an upload
	// must keep once UploadIdleTimeout has passed since its body started;
	// slower ones end with 408. The default value is 16 KiB.
	UploadMinRate int64
	// UploadMaxDuration bounds reading one upload body, whatever its rate.
	// The default value is 1h.
	UploadMaxDuration time.Duration
	// SyncConcurrency is how many tags one sync copies at once. The
	// default value is 4; above 32 is lowered to 32.
	SyncConcurrency int
}

// Defaults of Writes.
const (
	// DefaultMaxUploadBytes fits the large images CI jobs build (a CUDA
	// base is 5-10 GiB uncompressed and needs the cap raised; most
	// application images are well under 1 GiB).
	DefaultMaxUploadBytes    = 2 << 30
	DefaultUploadConcurrency = 2
	DefaultUploadIdleTimeout = time.Minute
	DefaultUploadMinRate     = 16 << 10
	DefaultUploadMaxDuration = time.Hour
	DefaultSyncConcurrency   = 4
)

// withDefaults returns w with every zero field set.
func (w Writes) withDefaults() Writes {
	if w.SpoolDir == "" {
		w.SpoolDir = os.TempDir()
	}
	if w.MaxUploadBytes <= 0 {
		w.MaxUploadBytes = DefaultMaxUploadBytes
	}
	if w.UploadConcurrency <= 0 {
		w.UploadConcurrency = DefaultUploadConcurrency
	}
	if w.UploadIdleTimeout <= 0 {
		w.UploadIdleTimeout = DefaultUploadIdleTimeout
	}
	if w.UploadMinRate <= 0 {
		w.UploadMinRate = DefaultUploadMinRate
	}
	if w.UploadMaxDuration <= 0 {
		w.UploadMaxDuration = DefaultUploadMaxDuration
	}
	if w.SyncConcurrency <= 0 {
		w.SyncConcurrency = DefaultSyncConcurrency
	}
	return w
}

// Transfers counts what the write routes did; telemetry's *Transfers
// satisfies it. SyncTag counts one tag a sync finished, with its
// transfer.Status; UploadBytes counts bytes of an upload body as they are
// read; Upload counts one upload that ended, with one of the upload*
// outcomes.
type Transfers interface {
	SyncTag(status string)
	UploadBytes(n int64)
	Upload(outcome string)
}

// noTransfers counts nothing.
type noTransfers struct{}

func (noTransfers) SyncTag(string)    {}
func (noTransfers) UploadBytes(int64) {}
func (noTransfers) Upload(string)     {}

// transfersOr returns t, or a Transfers that counts nothing when t is nil.
func transfersOr(t Transfers) Transfers {
	if t == nil {
		return noTransfers{}
	}
	return t
}

// decodeJSON reads a request's JSON body into v: one object, no unknown
// fields, nothing after it. The body is capped by limitBody.
func decodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) || errors.Is(err, errBodyTimeout) {
			return err
		}
		if errors.Is(err, io.EOF) {
			return errorf(codeBodyInvalid, "the request body is empty: want a JSON object")
		}
		return errorf(codeBodyInvalid, "the request body is not the JSON object expected: %s", truncate(err.Error()))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errorf(codeBodyInvalid, "the request body has more after its JSON object")
	}
	return nil
}

// imageRef is a parsed "<registry>/<repository>[:<tag>|@<digest>]" of a
// copy or sync request.
type imageRef struct {
	repoRequest
}

// parseImageRef parses s, a body field named field. With wantRef a
// reference must be present; without it none may be.
func parseImageRef(field, s string, wantRef bool) (imageRef, error) {
	reg, rest, ok := strings.Cut(s, "/")
	if !ok || rest == "" {
		return imageRef{}, errorf(codeNameInvalid, "%s %q: want <registry>/<repository>", field, truncate(s))
	}
	if err := validateRegistryName(reg); err != nil {
		return imageRef{}, err
	}
	repo, ref := rest, ""
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		repo, ref = rest[:i], rest[i:]
	} else if i := strings.LastIndexByte(rest, ':'); i > strings.LastIndexByte(rest, '/') {
		repo, ref = rest[:i], rest[i+1:]
	}
	if err := validateRepository(repo); err != nil {
		return imageRef{}, err
	}
	r := imageRef{repoRequest{Registry: reg, Repository: repo}}
	switch {
	case ref == "" && wantRef:
		return imageRef{}, errorf(codeReferenceInvalid, "%s %q: want <registry>/<repository>:<tag> or @sha256:<digest>", field, truncate(s))
	case ref != "" && !wantRef:
		return imageRef{}, errorf(codeReferenceInvalid, "%s %q: want <registry>/<repository> without a tag or digest", field, truncate(s))
	case ref != "":
		var err error
		if r.Reference, r.Digest, err = parseReference(ref); err != nil {
			return imageRef{}, err
		}
	}
	return r, nil
}

// String is the reference as the caller wrote it, normalised.
func (r imageRef) String() string {
	s := r.Registry + "/" + r.Repository
	switch {
	case r.Digest:
		return s + "@" + r.Reference
	case r.Reference != "":
		return s + ":" + r.Reference
	}
	return s
}

// clientOf returns the upstream's client scoped to r's repository. It is
// the client handed to the handlers, so with the cache on it is the
// cache-wrapped one and writes through it invalidate what they change.
func (u *upstreams) clientOf(r imageRef) (registry.Client, error) {
	up, err := u.get(r.Registry)
	if err != nil {
		return nil, err
	}
	return up.Client.WithSegment(r.segments()...), nil
}
