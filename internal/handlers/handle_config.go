package handlers

import (
	"fmt"
	"log/slog"
	"net/http"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// handleConfig serves GET …/-/config/{reference}?platform=: the image's
// config blob byte for byte, with the blob's media type. On an index
// without platform= it answers the default platform's image.
func handleConfig(logger *slog.Logger, defaultPlatform v1.Platform) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := repoTargetFrom(r.Context())
		res, err := resolveOrDefault(r, t, defaultPlatform)
		if err != nil {
			writeError(w, r, logger, err)
			return
		}
		m, err := res.manifest.GetManifest()
		if err != nil {
			writeError(w, r, logger, fmt.Errorf("config of %s: %w", t.clientRef(), err))
			return
		}
		cfg := m.GetConfig()
		cfgDigest := cfg.GetDigest().String()
		cc := cacheControlFor(t.repoRequest)
		w.Header().Set("Docker-Content-Digest", cfgDigest)
		setPlatformHeader(w, res.platform)
		if notModified(w, r, digestETag(cfgDigest), cc) {
			return
		}
		ref := "@" + res.manifest.GetDescriptor().GetDigest().String()
		blob, err := t.client().GetConfigBlob(r.Context(), ref)
		if err != nil {
			writeError(w, r, logger, fmt.Errorf("get config blob of %s: %w", ref, err))
			return
		}
		respondUpstreamBytes(w, r, string(cfg.GetMediaType()), "application/json", blob, digestETag(cfgDigest), cc)
	})
}
