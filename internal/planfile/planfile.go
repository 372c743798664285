// Package planfile is the saved plan: `plan --out FILE` writes one, `apply FILE`
// reads it back. As Terraform's plan files, it holds the plan together with what
// it was made from (every object read for each Cluster, by uid, resourceVersion
// and generation; the planner's options; the code versions), so that apply can
// refuse a plan the cluster has moved away from. docs/plan-format.md
// ("Saved plans") describes the document.
package planfile

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"runtime/debug"
	"strings"

	"github.com/capi-planner/capi-planner/internal/safefile"
	"github.com/capi-planner/capi-planner/internal/suppress"
	"github.com/capi-planner/capi-planner/planner"
)

// APIVersion and Kind identify a saved plan. A reader refuses any other
// apiVersion: a newer one may hold fields it would silently drop.
const (
	APIVersion = "capi-planner.io/v1alpha1"
	Kind       = "SavedUpgradePlan"
)

// SavedPlan is a plan with its inputs.
type SavedPlan struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// Code says which code made the plan.
	Code Code `json:"code"`
	// Options are the planner's inputs besides the objects: apply plans again
	// with exactly these.
	Options Options `json:"options"`
	// Inputs are the objects read for each Cluster of the plan.
	Inputs []ClusterInputs `json:"inputs"`
	// Plan is the plan, as `plan -o json` prints it.
	Plan planner.UpgradePlan `json:"plan"`
}

// Code is the versions of the code that made a plan.
type Code struct {
	CAPIPlanner string `json:"capiPlanner"`
	ClusterAPI  string `json:"clusterAPI"`
}

// Options are the planning options apply must repeat.
type Options struct {
	// To is the requested target as typed (v1.36.3, v1.36, latest or empty).
	To string `json:"to,omitempty"`
	// Versions is the --versions/--versions-file list; absent when the release
	// catalog was used.
	Versions []string `json:"versions,omitempty"`
	// FeatureGates are the --feature-gates overrides; absent when read from the controllers.
	FeatureGates map[string]bool `json:"featureGates,omitempty"`
	// AssumeCovered are the --assume-extension-covers field paths.
	AssumeCovered []string `json:"assumeCovered,omitempty"`
	// AskExtensions records --ask-extensions.
	AskExtensions bool `json:"askExtensions,omitempty"`
	// Ignore are the findings accepted with --ignore and --ignore-file.
	Ignore []suppress.Entry `json:"ignore,omitempty"`
	// Live is true when the plan was made from a live cluster, false from snapshots.
	Live bool `json:"live"`
}

// ClusterInputs are the objects read to plan one Cluster.
type ClusterInputs struct {
	Cluster planner.ObjectRef `json:"cluster"`
	Objects []Object          `json:"objects"`
}

// Object is one object as it was read.
type Object struct {
	Group           string `json:"group,omitempty"`
	Kind            string `json:"kind"`
	Namespace       string `json:"namespace,omitempty"`
	Name            string `json:"name"`
	UID             string `json:"uid,omitempty"`
	ResourceVersion string `json:"resourceVersion,omitempty"`
	Generation      int64  `json:"generation,omitempty"`
	// Version is the Kubernetes version of a control plane, MachineDeployment,
	// MachinePool or Machine (its spec): apply counts what changed since the
	// plan from it when it resumes.
	Version string `json:"version,omitempty"`
	// Owner is a Machine's control plane or MachineDeployment (their name
	// labels): the object whose step deleted it, when it is gone.
	Owner *planner.ObjectRef `json:"owner,omitempty"`
}

// Ref returns the object's reference as plans name objects.
func (o Object) Ref() planner.ObjectRef {
	return planner.ObjectRef{Kind: o.Kind, Namespace: o.Namespace, Name: o.Name}
}

// Key identifies the object among a Cluster's inputs.
func (o Object) Key() string {
	return o.Group + "/" + o.Kind + "/" + o.Namespace + "/" + o.Name
}

// Marshal renders the saved plan as indented JSON.
func (p *SavedPlan) Marshal() ([]byte, error) {
	data, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// Digest identifies the saved plan: the SHA-256 of its JSON. Apply records it
// in the cluster, so that a rerun recognises its own run.
func (p *SavedPlan) Digest() (string, error) {
	data, err := json.Marshal(p)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}

// InputsOf returns the inputs of the Cluster (namespace/name), or nil.
func (p *SavedPlan) InputsOf(cluster planner.ObjectRef) *ClusterInputs {
	for i := range p.Inputs {
		if p.Inputs[i].Cluster == cluster {
			return &p.Inputs[i]
		}
	}
	return nil
}

// ReadFile reads and checks a saved plan, at most maxSize bytes.
func ReadFile(path string, maxSize int64) (*SavedPlan, error) {
	data, err := safefile.ReadFile(path, maxSize)
	if err != nil {
		return nil, fmt.Errorf("reading the saved plan: %w", err)
	}
	p, err := Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// Decode reads a saved plan: strict JSON of a known apiVersion and kind.
func Decode(r io.Reader) (*SavedPlan, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("not a saved plan (JSON written by `capi-planner plan --out`): %w", err)
	}
	switch {
	case head.Kind != Kind:
		hint := ""
		if head.Kind == planner.Kind {
			hint = ": this is the output of `plan -o json`, which holds no inputs; save a plan with `plan --out FILE`"
		}
		return nil, fmt.Errorf("kind %q is not %s%s", head.Kind, Kind, hint)
	case head.APIVersion != APIVersion:
		return nil, fmt.Errorf("apiVersion %q is not %s, the only one this capi-planner reads: plan again with this version, or apply with the capi-planner that wrote the plan", head.APIVersion, APIVersion)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p SavedPlan
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("not a valid %s: %w", Kind, err)
	}
	if p.Plan.APIVersion != planner.APIVersion || p.Plan.Kind != planner.Kind {
		return nil, fmt.Errorf("plan: apiVersion %q kind %q is not %s %s", p.Plan.APIVersion, p.Plan.Kind, planner.APIVersion, planner.Kind)
	}
	for _, c := range p.Plan.Clusters {
		if p.InputsOf(c.Cluster) == nil {
			return nil, fmt.Errorf("plan: the inputs of %s are missing", c.Cluster)
		}
	}
	return &p, nil
}

// Diff is how the objects read now differ from a Cluster's inputs.
type Diff struct {
	Added   []Object `json:"added,omitempty"`
	Removed []Object `json:"removed,omitempty"`
	// Changed pairs the saved object with the one read now.
	Changed [][2]Object `json:"changed,omitempty"`
}

// Empty is true when nothing changed.
func (d Diff) Empty() bool { return len(d.Added)+len(d.Removed)+len(d.Changed) == 0 }

// String lists the changes, one per line.
func (d Diff) String() string {
	var b strings.Builder
	for _, o := range d.Removed {
		fmt.Fprintf(&b, "  %s: deleted since the plan\n", o.Ref())
	}
	for _, o := range d.Added {
		fmt.Fprintf(&b, "  %s: created since the plan\n", o.Ref())
	}
	for _, c := range d.Changed {
		was, now := c[0], c[1]
		switch {
		case was.UID != now.UID:
			fmt.Fprintf(&b, "  %s: deleted and created again since the plan (uid %s, now %s)\n", was.Ref(), was.UID, now.UID)
		default:
			fmt.Fprintf(&b, "  %s: its spec changed since the plan (generation %d, now %d)\n", was.Ref(), was.Generation, now.Generation)
		}
	}
	return b.String()
}

// Compare tells how now differs from was. An object changed when it was
// deleted and created again (another uid) or its spec changed (another
// generation). Its resourceVersion is not compared: the controllers write
// status all the time, so it moves without any change to what was planned.
func Compare(was, now []Object) Diff {
	var d Diff
	byKey := map[string]Object{}
	for _, o := range now {
		byKey[o.Key()] = o
	}
	seen := map[string]bool{}
	for _, w := range was {
		seen[w.Key()] = true
		n, ok := byKey[w.Key()]
		switch {
		case !ok:
			d.Removed = append(d.Removed, w)
		case n.UID != w.UID || n.Generation != w.Generation:
			d.Changed = append(d.Changed, [2]Object{w, n})
		}
	}
	for _, n := range now {
		if !seen[n.Key()] {
			d.Added = append(d.Added, n)
		}
	}
	return d
}

// ClusterAPIVersion is the version of the Cluster API module this binary was
// built with ("unknown" in a build without module information).
func ClusterAPIVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "sigs.k8s.io/cluster-api" {
				return d.Version
			}
		}
	}
	return "unknown"
}
