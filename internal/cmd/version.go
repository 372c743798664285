package cmd

import (
	"encoding/json"
	"fmt"
	"runtime"
	"time"

	"github.com/capi-planner/capi-planner/catalog"
	"github.com/capi-planner/capi-planner/internal/iostreams"
	"github.com/capi-planner/capi-planner/internal/planfile"
)

// versionInfo is `version -o json`.
type versionInfo struct {
	CAPIPlanner string      `json:"capiPlanner"`
	ClusterAPI  string      `json:"clusterAPI"`
	GoVersion   string      `json:"goVersion"`
	Catalog     catalogInfo `json:"catalog"`
}

type catalogInfo struct {
	Generated time.Time `json:"generated"`
	Releases  int       `json:"releases"`
	Newest    string    `json:"newest,omitempty"`
}

func printVersion(ios *iostreams.IOStreams, format string) error {
	if format != "text" && format != "json" {
		return fmt.Errorf("invalid -o %q: expected text or json", format)
	}
	cat, err := catalog.Embedded()
	if err != nil {
		return err
	}
	capi := planfile.ClusterAPIVersion()
	newest := ""
	if n := len(cat.Releases); n > 0 {
		newest = cat.Releases[n-1].Version
	}
	if format == "json" {
		data, err := json.MarshalIndent(versionInfo{CAPIPlanner: Version, ClusterAPI: capi, GoVersion: runtime.Version(),
			Catalog: catalogInfo{Generated: cat.Generated, Releases: len(cat.Releases), Newest: newest}}, "", "  ")
		if err != nil {
			return err
		}
		_, err = ios.Out.Write(append(data, '\n'))
		return err
	}
	if newest == "" {
		newest = "none"
	}
	_, err = fmt.Fprintf(ios.Out, "capi-planner %s\nCluster API code %s\nrelease catalog of %s (%d releases, newest %s)\n",
		Version, capi, cat.Generated.Format("2006-01-02"), len(cat.Releases), newest)
	return err
}
