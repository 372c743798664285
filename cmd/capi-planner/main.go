// Command capi-planner plans chained Cluster API upgrades. See docs/.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/capi-planner/capi-planner/internal/cmd"
	"github.com/capi-planner/capi-planner/internal/gctune"
	"github.com/capi-planner/capi-planner/internal/iostreams"
)

func main() {
	gctune.Apply()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cmd.Main(ctx, os.Args, iostreams.System())
	stop()
	os.Exit(code)
}
