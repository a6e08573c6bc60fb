package registry

import v1 "github.com/google/go-containerregistry/pkg/v1"

// TagsPageOf returns the limit (0: all) and last tag that opts ask for.
// Decorators such as the cache use it to key their entries.
func TagsPageOf(opts ...ListTagsOption) (limit int, last string) {
	var o listOptions
	for _, opt := range opts {
		opt.applyListTags(&o)
	}
	return o.limit, o.last
}

// ReposPageOf returns the limit (0: all) and last repository that opts ask for.
func ReposPageOf(opts ...ListRepositoriesOption) (limit int, last string) {
	var o listOptions
	for _, opt := range opts {
		opt.applyListRepositories(&o)
	}
	return o.limit, o.last
}

// PlatformOf returns the platform that opts select, or nil when none does.
func PlatformOf(opts ...ImageGetOption) *v1.Platform {
	var o imageGetOptions
	for _, opt := range opts {
		opt.applyImageGet(&o)
	}
	return o.platform
}
