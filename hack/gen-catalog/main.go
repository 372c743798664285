// Command gen-catalog writes catalog/releases.json: the stable Kubernetes
// releases that the Go module proxy (GOPROXY) knows as versions of k8s.io/kubernetes,
// with the time each was published. Run it with `go generate ./catalog`
// (or `make catalog`); it needs the module proxy, nothing else.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/capi-planner/capi-planner/catalog"
)

const module = "k8s.io/kubernetes"

func main() {
	out := flag.String("o", "releases.json", "output file")
	oldest := flag.String("oldest", "v1.25.0", "oldest release to keep")
	flag.Parse()
	if err := run(*out, *oldest); err != nil {
		fmt.Fprintln(os.Stderr, "gen-catalog:", err)
		os.Exit(1)
	}
}

func run(out, oldest string) error {
	floor := semver.MustParse(oldest)
	list, err := goList("-versions", module)
	if err != nil {
		return err
	}
	var stable []string
	for _, v := range strings.Fields(string(list))[1:] {
		sv, err := semver.NewVersion(v)
		if err != nil || sv.Prerelease() != "" || sv.LessThan(floor) {
			continue
		}
		stable = append(stable, module+"@"+v)
	}
	if len(stable) == 0 {
		return fmt.Errorf("the module proxy lists no stable %s version >= %s", module, oldest)
	}
	infos, err := goList(append([]string{"-json"}, stable...)...)
	if err != nil {
		return err
	}
	c := catalog.Catalog{Generated: time.Now().UTC().Truncate(time.Second), Source: "module proxy versions of " + module}
	dec := json.NewDecoder(bytes.NewReader(infos))
	for dec.More() {
		var m struct {
			Version string
			Time    time.Time
		}
		if err := dec.Decode(&m); err != nil {
			return err
		}
		c.Releases = append(c.Releases, catalog.Release{Version: m.Version, Published: m.Time.UTC()})
	}
	sort.Slice(c.Releases, func(i, j int) bool {
		return semver.MustParse(c.Releases[i].Version).LessThan(semver.MustParse(c.Releases[j].Version))
	})
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(out, append(data, '\n'), 0o644)
}

func goList(args ...string) ([]byte, error) {
	cmd := exec.Command("go", append([]string{"list", "-m"}, args...)...)
	cmd.Stderr = os.Stderr
	// Run outside any module so that the project's go.mod plays no part.
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GO111MODULE=on")
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list -m %s: %w", strings.Join(args, " "), err)
	}
	return out, nil
}
