//go:build !unix

package apply

// localHolderGone cannot tell on this platform: a stopped apply's lock is
// taken over when it expires.
func localHolderGone(string) bool { return false }
