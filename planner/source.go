package planner

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/blang/semver/v4"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
)

// versionSource picks where versions come from, in CAPI's order of precedence
// (desired_state.go:126-131): the ClusterClass extension, the ClusterClass list,
// else one minor at a time. Unmanaged Clusters use the user's list or the catalog.
// needsInput is set when the plan cannot be made offline.
func (p *clusterPlanner) versionSource(cc *clusterv1.ClusterClass) (src VersionSource, needsInput string) {
	known, knownNote := p.opts.Catalog.Versions(), fmt.Sprintf("embedded release catalog of %s", p.opts.Catalog.Generated.Format("2006-01-02"))
	if p.opts.Versions != nil {
		known, knownNote = p.opts.Versions, "--versions"
	}
	if cc == nil {
		if p.opts.Versions != nil {
			return VersionSource{Type: SourceUserVersions, Versions: known, Note: "versions from --versions"}, ""
		}
		return VersionSource{Type: SourceCatalog, Versions: known, Note: knownNote}, ""
	}
	ccName := cc.Namespace + "/" + cc.Name
	if ext := cc.Spec.Upgrade.External.GenerateUpgradePlanExtension; ext != "" {
		src := VersionSource{Type: SourceExtension, Name: ext}
		if p.opts.RuntimeClient != nil {
			src.Versions = known
			src.Note = "the extension computes the steps; the targets offered come from the " + knownNote
			return src, ""
		}
		if p.opts.Versions == nil {
			return src, fmt.Sprintf("ClusterClass %s computes upgrade plans with the GenerateUpgradePlan extension %q (spec.upgrade.external.generateUpgradePlanExtension), which cannot be called offline; pass the versions it offers with --versions or --versions-file, or plan against the live management cluster", ccName, ext)
		}
		src.Versions = known
		src.Note = "offline stand-in: the extension is not called; --versions is assumed to be what it offers, and the plan takes the latest listed patch of every minor"
		return src, ""
	}
	if list := cc.Spec.KubernetesVersions; len(list) > 0 {
		note := "ClusterClass " + ccName + " spec.kubernetesVersions"
		if p.opts.Versions != nil {
			note += " (--versions is ignored: CAPI only uses the ClusterClass list)"
		}
		return VersionSource{Type: SourceClusterClass, Name: ccName, Versions: list, Note: note}, ""
	}
	return VersionSource{Type: SourceOneMinor, Name: ccName, Versions: known,
		Note: fmt.Sprintf("ClusterClass %s has no spec.kubernetesVersions and no upgrade extension: CAPI's Cluster webhook takes at most one minor per spec.topology.version write, so a target beyond the next minor is planned as one write per minor, through the newest known patch of each minor in between; patch versions from the %s", ccName, knownNote)}, ""
}

// availableTargets are the source's versions above base, oldest first. A
// one-minor source offers the versions of base's major that it can reach one
// write per minor: those with a known release of every minor in between.
func availableTargets(src VersionSource, base semver.Version) []string {
	minors := map[uint64]bool{}
	for _, v := range src.Versions {
		if sv, err := parseVersion(v); err == nil && len(sv.Pre) == 0 && sv.Major == base.Major {
			minors[sv.Minor] = true
		}
	}
	reachable := func(sv semver.Version) bool {
		if sv.Major != base.Major {
			return false
		}
		for m := base.Minor + 1; m < sv.Minor; m++ {
			if !minors[m] {
				return false
			}
		}
		return true
	}
	var out []string
	for _, v := range src.Versions {
		sv, err := parseVersion(v)
		if err != nil || len(sv.Pre) > 0 || compareVersions(sv, base) != 1 {
			continue
		}
		if src.Type == SourceOneMinor && !reachable(sv) {
			continue
		}
		out = append(out, v)
	}
	sortVersions(out)
	return slices.Compact(out)
}

// resolveTarget turns the requested target into a version; base is the version
// the Cluster is at (or heading to, for a topology upgrade in flight).
func resolveTarget(t Target, src VersionSource, base string, available []string) (string, error) {
	switch t.Kind {
	case TargetExact:
		return t.Version, nil
	case TargetNewest, TargetLatest:
		if len(available) == 0 {
			return base, nil
		}
		return available[len(available)-1], nil
	}
	var best string
	var bestV semver.Version
	for _, v := range append([]string{base}, src.Versions...) {
		sv, err := parseVersion(v)
		if err != nil || len(sv.Pre) > 0 || sv.Major != t.Major || sv.Minor != t.Minor {
			continue
		}
		if best == "" || compareVersions(sv, bestV) == 1 {
			best, bestV = v, sv
		}
	}
	if best == "" {
		return "", fmt.Errorf("no v%d.%d release is known to the version source (%s); offered: %s", t.Major, t.Minor, describeSource(src), listOrNone(src.Versions))
	}
	return best, nil
}

func describeSource(src VersionSource) string {
	if src.Note != "" {
		return src.Note
	}
	return string(src.Type)
}

func listOrNone(vs []string) string {
	if len(vs) == 0 {
		return "none"
	}
	return strings.Join(vs, ", ")
}

// sortVersions sorts Kubernetes versions ascending; unparsable ones go last.
func sortVersions(vs []string) {
	sort.SliceStable(vs, func(i, j int) bool {
		a, errA := parseVersion(vs[i])
		b, errB := parseVersion(vs[j])
		if errA != nil || errB != nil {
			return errA == nil
		}
		return a.LT(b)
	})
}

// withVersion returns versions plus v, sorted, when v is not already listed.
func withVersion(versions []string, v string) []string {
	if slices.Contains(versions, v) {
		return versions
	}
	out := append(slices.Clone(versions), v)
	sortVersions(out)
	return out
}

// topologyWrites are the spec.topology.version values a topology upgrade is
// written as, in turn. A ClusterClass with neither a version list nor an
// extension lets CAPI's Cluster webhook take one minor per write
// (cluster.go:446-460), so a target further ahead is reached by writing the
// newest known patch of every minor in between, each once the previous
// upgrade has landed. Without a known patch of some minor in between, the one
// target is returned and the webhook's rule rejects it.
func topologyWrites(src VersionSource, base, target string) []string {
	baseV, errB := parseVersion(base)
	targetV, errT := parseVersion(target)
	if src.Type != SourceOneMinor || errB != nil || errT != nil || targetV.Major != baseV.Major || targetV.Minor <= baseV.Minor+1 {
		return []string{target}
	}
	var out []string
	for minor := baseV.Minor + 1; minor < targetV.Minor; minor++ {
		v, err := resolveTarget(Target{Kind: TargetMinor, Major: baseV.Major, Minor: minor}, src, "", nil)
		if err != nil {
			return []string{target}
		}
		out = append(out, v)
	}
	return append(out, target)
}
