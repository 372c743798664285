// Package gctune sets the garbage collector for a short-lived CLI that decodes a
// large snapshot in one go: fewer collections, at a bounded memory cost.
package gctune

import (
	"os"
	"runtime/debug"
)

// Percent is the GOGC capi-planner runs with unless GOGC is set: reading 25,000
// Machines then takes about 15% less time and peaks at about 460 MB instead of
// 370 MB (docs/performance.md).
const Percent = 150

// Apply sets GOGC to Percent unless the environment sets it.
func Apply() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(Percent)
	}
}
