package catalog

import (
	"testing"

	"github.com/Masterminds/semver/v3"
)

func TestEmbedded(t *testing.T) {
	c, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	if c.Generated.IsZero() || c.Source == "" || len(c.Releases) < 5 {
		t.Fatalf("catalog incomplete: %+v", c)
	}
	var prev *semver.Version
	for _, r := range c.Releases {
		v, err := semver.StrictNewVersion(r.Version[1:])
		if err != nil || r.Version[0] != 'v' || v.Prerelease() != "" {
			t.Errorf("release %q is not a stable vX.Y.Z version", r.Version)
			continue
		}
		if prev != nil && !prev.LessThan(v) {
			t.Errorf("releases not sorted: %s after %s", v, prev)
		}
		if r.Published.IsZero() || r.Published.After(c.Generated) {
			t.Errorf("release %s published %s, catalog generated %s", r.Version, r.Published, c.Generated)
		}
		prev = v
	}
}
