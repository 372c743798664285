//go:build !unix

package apply

// processGone cannot tell on this platform (and is not asked: it has no
// process scope, see processScope).
func processGone(int) bool { return false }
