// Command capi-planner plans chained Cluster API upgrades. See docs/.
package main

import (
	"context"
	"os"

	"github.com/capi-planner/capi-planner/internal/cmd"
	"github.com/capi-planner/capi-planner/internal/gctune"
	"github.com/capi-planner/capi-planner/internal/iostreams"
)

func main() {
	gctune.Apply()
	// The first Ctrl-C or SIGTERM cancels the run (exit 130 or 143); a second one kills.
	ctx, stop := cmd.NotifyContext(context.Background())
	code := cmd.Main(ctx, os.Args, iostreams.System())
	stop()
	os.Exit(code)
}
