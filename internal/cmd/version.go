package cmd

import (
	"fmt"
	"runtime/debug"

	"github.com/capi-planner/capi-planner/internal/catalog"
	"github.com/capi-planner/capi-planner/internal/iostreams"
)

func printVersion(ios *iostreams.IOStreams) error {
	cat, err := catalog.Embedded()
	if err != nil {
		return err
	}
	capi := "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "sigs.k8s.io/cluster-api" {
				capi = d.Version
			}
		}
	}
	newest := "none"
	if n := len(cat.Releases); n > 0 {
		newest = cat.Releases[n-1].Version
	}
	_, err = fmt.Fprintf(ios.Out, "capi-planner %s\nCluster API code %s\nrelease catalog of %s (%d releases, newest %s)\n",
		Version, capi, cat.Generated.Format("2006-01-02"), len(cat.Releases), newest)
	return err
}
