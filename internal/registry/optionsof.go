package registry

import v1 "github.com/google/go-containerregistry/pkg/v1"

// TagsPageOf returns the limit (0: all) and last tag that opts ask for.
// Decorators such as the cache use it to key their entries.
func TagsPageOf(opts ...ListTagsOption) (limit int, last string) {
	o := optionsOf(opts, ListTagsOption.applyListTags)
	return o.limit, o.last
}

// ReposPageOf returns the limit (0: all) and last repository that opts ask for.
func ReposPageOf(opts ...ListRepositoriesOption) (limit int, last string) {
	o := optionsOf(opts, ListRepositoriesOption.applyListRepositories)
	return o.limit, o.last
}

// PlatformOf returns the platform that opts select, or nil when none does.
func PlatformOf(opts ...ImageGetOption) *v1.Platform {
	return optionsOf(opts, ImageGetOption.applyImageGet).platform
}
