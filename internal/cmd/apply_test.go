package cmd

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"k8s.io/utils/ptr"

	"github.com/capi-planner/capi-planner/internal/iostreams"
	"github.com/capi-planner/capi-planner/internal/render/progress"
	"github.com/capi-planner/capi-planner/planner"
	"github.com/capi-planner/capi-planner/upgrade"
)

// applyFixture saves the bundled example's plan and writes a kubeconfig for a
// server nothing listens on: what these tests check happens before any request.
func applyFixture(t *testing.T) (plan, kubeconfig string) {
	t.Helper()
	dir := t.TempDir()
	plan = filepath.Join(dir, "plan.json")
	ios, _, _, errOut := iostreams.Test()
	if code := Main(t.Context(), []string{"capi-planner", "plan", "-f", "../../fixtures/topology-versions", "--to", "v1.36.3", "--out", plan}, ios); code != ExitOK {
		t.Fatalf("plan --out: exit %d\n%s", code, errOut)
	}
	kubeconfig = filepath.Join(dir, "kubeconfig")
	data := `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`
	if err := os.WriteFile(kubeconfig, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return plan, kubeconfig
}

func TestApplyRefusesBeforeWriting(t *testing.T) {
	plan, kubeconfig := applyFixture(t)
	planOnly := filepath.Join(t.TempDir(), "plan-o-json.json")
	ios, _, out, _ := iostreams.Test()
	if code := Main(t.Context(), []string{"capi-planner", "plan", "-f", "../../fixtures/topology-versions", "--to", "v1.36.3", "-o", "json"}, ios); code != ExitOK {
		t.Fatal("plan -o json failed")
	}
	if err := os.WriteFile(planOnly, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"nothing to apply", []string{"apply", "--kubeconfig", kubeconfig}, "nothing to apply: pass a saved plan"},
		{"--cluster without --to", []string{"apply", "--kubeconfig", kubeconfig, "--cluster", "prod/web"}, "--cluster without a saved plan needs --to"},
		{"a plan and --to", []string{"apply", plan, "--kubeconfig", kubeconfig, "--to", "v1.35"}, "conflicting arguments"},
		{"a bad --dry-run", []string{"apply", plan, "--kubeconfig", kubeconfig, "--dry-run=maybe"}, `invalid --dry-run "maybe"`},
		{"an unknown preflight rule", []string{"apply", plan, "--kubeconfig", kubeconfig, "--skip-preflight", "NoSuchRule"}, `invalid --skip-preflight "NoSuchRule"`},
		{"a plan without inputs", []string{"apply", planOnly, "--kubeconfig", kubeconfig, "--yes"}, "save a plan with `plan --out FILE`"},
		{"no terminal, no --yes", []string{"apply", plan, "--kubeconfig", kubeconfig}, "standard input is not a terminal: pass --yes"},
		{"--until no step goes to", []string{"apply", plan, "--kubeconfig", kubeconfig, "--yes", "--until", "v1.34.9"}, "has a topology, so its upgrade is one write"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ios, _, _, errOut := iostreams.Test()
			code := Main(t.Context(), append([]string{"capi-planner"}, tc.args...), ios)
			if code != ExitError || !strings.Contains(errOut.String(), tc.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant it to say %q", code, errOut, tc.want)
			}
		})
	}
}

// --until that no step of an unmanaged Cluster's plan goes to is refused
// before anything is sent, naming the flag and the steps' versions.
func TestApplyUntilNotPlanned(t *testing.T) {
	_, kubeconfig := applyFixture(t)
	plan := filepath.Join(t.TempDir(), "plan.json")
	ios, _, _, errOut := iostreams.Test()
	if code := Main(t.Context(), []string{"capi-planner", "plan", "-f", "../../fixtures/unmanaged", "--to", "v1.36.3", "--out", plan}, ios); code != ExitOK {
		t.Fatalf("plan --out: exit %d\n%s", code, errOut)
	}
	ios, _, _, errOut = iostreams.Test()
	code := Main(t.Context(), []string{"capi-planner", "apply", plan, "--kubeconfig", kubeconfig, "--dry-run=client", "--until", "v1.35.2"}, ios)
	if want := "invalid --until v1.35.2: no step of the plan goes to v1.35.2 (its steps go to v1.34.4, v1.35.4, v1.36.3)"; code != ExitError || !strings.Contains(errOut.String(), want) {
		t.Errorf("exit %d, stderr:\n%s\nwant it to say %q", code, errOut, want)
	}
}

// A client dry run prints the writes of the saved plan, in order, and sends nothing.
func TestApplyDryRunClient(t *testing.T) {
	plan, kubeconfig := applyFixture(t)
	ios, _, out, errOut := iostreams.Test()
	code := Main(t.Context(), []string{"capi-planner", "apply", plan, "--kubeconfig", kubeconfig, "--dry-run=client", "-o", "json"}, ios)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"type":"Write"`) || !strings.Contains(lines[0], `"dryRun":"client"`) ||
		!strings.Contains(lines[0], `"field":"spec.topology.version","from":"v1.33.4","to":"v1.36.3"`) || !strings.Contains(lines[1], `"type":"Completed"`) {
		t.Errorf("events:\n%s", out)
	}
}

// A ClusterClass without a version list takes one minor per write: the
// dry run lists a spec.topology.version write per minor, and --until can stop
// only where one of them ends.
func TestApplyOneMinorPerWrite(t *testing.T) {
	_, kubeconfig := applyFixture(t)
	plan := filepath.Join(t.TempDir(), "plan.json")
	ios, _, _, errOut := iostreams.Test()
	if code := Main(t.Context(), []string{"capi-planner", "plan", "-f", "../../fixtures/topology-one-minor", "--to", "v1.37.2", "--versions", "v1.36.3,v1.37.2", "--out", plan}, ios); code != ExitOK {
		t.Fatalf("plan --out: exit %d\n%s", code, errOut)
	}
	ios, _, out, errOut := iostreams.Test()
	if code := Main(t.Context(), []string{"capi-planner", "apply", plan, "--kubeconfig", kubeconfig, "--dry-run=client", "-o", "json"}, ios); code != ExitOK {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], `"step":1,`) || !strings.Contains(lines[0], `"field":"spec.topology.version","from":"v1.35.4","to":"v1.36.3"`) ||
		!strings.Contains(lines[1], `"step":3,`) || !strings.Contains(lines[1], `"from":"v1.36.3","to":"v1.37.2"`) {
		t.Errorf("events:\n%s", out)
	}
	ios, _, _, errOut = iostreams.Test()
	code := Main(t.Context(), []string{"capi-planner", "apply", plan, "--kubeconfig", kubeconfig, "--yes", "--until", "v1.36.1"}, ios)
	if want := "writes spec.topology.version v1.36.3, v1.37.2 in turn"; code != ExitError || !strings.Contains(errOut.String(), want) {
		t.Errorf("--until v1.36.1: exit %d, stderr:\n%s\nwant it to say %q", code, errOut, want)
	}
}

// compileSchema compiles a schema of docs/, with the plan's schema it refers to.
func compileSchema(t *testing.T, name string) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	for _, f := range []string{"plan.schema.json", name} {
		data, err := os.ReadFile(filepath.Join("..", "..", "docs", f))
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		id, _ := doc.(map[string]any)["$id"].(string)
		if err := c.AddResource(id, doc); err != nil {
			t.Fatal(err)
		}
		if f == name {
			s, err := c.Compile(id)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	}
	return nil
}

func validate(t *testing.T, s *jsonschema.Schema, data []byte) error {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return s.Validate(doc)
}

func TestSavedPlanMatchesSchema(t *testing.T) {
	plan, _ := applyFixture(t)
	data, err := os.ReadFile(plan)
	if err != nil {
		t.Fatal(err)
	}
	s := compileSchema(t, "saved-plan.schema.json")
	if err := validate(t, s, data); err != nil {
		t.Errorf("plan --out does not match docs/saved-plan.schema.json: %v", err)
	}
	if err := validate(t, s, bytes.Replace(data, []byte(`"generation"`), []byte(`"generations"`), 1)); err == nil {
		t.Error("the schema accepts an unknown field of an input")
	}
}

// Every type of event, as the engine writes it, matches the documented schema.
func TestEventsMatchSchema(t *testing.T) {
	s := compileSchema(t, "apply-events.schema.json")
	ref := &planner.ObjectRef{Kind: "KubeadmControlPlane", Namespace: "ns", Name: "cp"}
	machine := &planner.ObjectRef{Kind: "Machine", Namespace: "ns", Name: "m"}
	patch := &planner.Patch{Object: *ref, Field: "spec.version", From: "v1.33.4", To: "v1.34.3"}
	counts := planner.MachineCounts{Created: 1, UpdatedInPlace: 2, Deleted: 1}
	var out bytes.Buffer
	sink := progress.NewJSON(&out)
	for _, e := range []upgrade.Event{
		{Type: upgrade.EventLocked, Object: &planner.ObjectRef{Kind: "Lease", Namespace: "ns", Name: "capi-planner-c"}, Message: "held by me"},
		{Type: upgrade.EventResumed, Message: "m"},
		{Type: upgrade.EventPreflight, Message: "m"},
		{Type: upgrade.EventOverride, Rule: "MachineDeploymentUpgradeDeferred", Message: "m"},
		{Type: upgrade.EventStepStarted, Step: 1, Message: "ControlPlane to v1.34.3 (1 object)"},
		{Type: upgrade.EventWrite, Step: 1, Object: ref, Write: patch},
		{Type: upgrade.EventWrite, Step: 1, Object: ref, Write: patch, DryRun: "server", Message: "m"},
		{Type: upgrade.EventWriteDone, Step: 1, Object: ref, Write: patch},
		{Type: upgrade.EventMachine, Step: 1, Object: ref, Machine: machine, Change: upgrade.MachineInPlace, Version: "v1.34.3"},
		{Type: upgrade.EventMachine, Machine: machine, Change: upgrade.MachineCreated, Version: "v1.30.0"},
		{Type: upgrade.EventStalled, Step: 1, Reasons: []string{"r"}, Message: "nothing has moved for 2m0s"},
		{Type: upgrade.EventStepDone, Step: 1, Progress: []upgrade.ObjectProgress{{Object: *ref, Observed: counts, Predicted: counts}}},
		{Type: upgrade.EventStepDone, Step: 2, Progress: []upgrade.ObjectProgress{{Object: *ref, Observed: counts, Predicted: counts}},
			TookSeconds: ptr.To[int64](0), Estimated: &planner.Estimate{Seconds: 30, Basis: "b"}, Remaining: &planner.Estimate{Seconds: 60, Basis: "b"}},
		{Type: upgrade.EventCompleted, Message: "the prediction held"},
		{Type: upgrade.EventStopped, Message: "m", Reasons: []string{"r"}},
	} {
		e.APIVersion, e.Kind, e.Time, e.Cluster = upgrade.EventAPIVersion, upgrade.EventKind, time.Now(), planner.ObjectRef{Kind: "Cluster", Namespace: "ns", Name: "c"}
		sink.Event(e)
	}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if err := validate(t, s, []byte(line)); err != nil {
			t.Errorf("%s\ndoes not match docs/apply-events.schema.json: %v", line, err)
		}
	}
	if err := validate(t, s, []byte(`{"apiVersion":"capi-planner.io/v1alpha1","kind":"ApplyEvent","type":"Exploded"}`)); err == nil {
		t.Error("the schema accepts an unknown event type")
	}
}
