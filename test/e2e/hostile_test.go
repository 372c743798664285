package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// hostileCase is one input a user may feed capi-planner, and what it must answer.
type hostileCase struct {
	name string
	// files are written into the case's directory, which {dir} in args stands for.
	files map[string]string
	// special makes special files in the case's directory (FIFOs, sockets).
	special func(t *testing.T, dir string)
	args    []string
	stdin   string
	code    int
	// want is in the error line (code 1) or in a warning (code 0).
	want string
}

// base is a valid single-Cluster snapshot, staging/api at v1.35.4.
func base(t *testing.T) string {
	data, err := os.ReadFile("../../fixtures/topology-one-minor/snapshot.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// mutate replaces the n-th (1-based) occurrence of old in s.
func mutate(t *testing.T, s, old, new string, n int) string {
	i := -1
	for range n {
		j := strings.Index(s[i+1:], old)
		if j < 0 {
			t.Fatalf("no occurrence %d of %q", n, old)
		}
		i += j + 1
	}
	return s[:i] + new + s[i+len(old):]
}

func utf16LE(s string) string {
	var b strings.Builder
	b.WriteString("\xFF\xFE")
	for _, r := range s {
		b.WriteByte(byte(r))
		b.WriteByte(0)
	}
	return b.String()
}

func hostileCases(t *testing.T) []hostileCase {
	snap := base(t)
	plan := func(extra ...string) []string {
		return append([]string{"plan", "-f", "{dir}/s.yaml", "--versions", chain}, extra...)
	}
	file := func(content string) map[string]string { return map[string]string{"s.yaml": content} }
	var cases []hostileCase
	add := func(c hostileCase) { cases = append(cases, c) }

	// Special files: refused at once, naming the path and its type.
	mkfifo := func(name string) func(*testing.T, string) {
		return func(t *testing.T, dir string) {
			if err := syscall.Mkfifo(filepath.Join(dir, name), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	add(hostileCase{name: "fifo", special: mkfifo("s.yaml"), args: plan(), code: 1, want: "s.yaml: is a FIFO (named pipe)"})
	add(hostileCase{name: "fifo in a directory", files: map[string]string{"a.yaml": snap}, special: mkfifo("b.yaml"), args: []string{"plan", "-f", "{dir}"}, code: 1, want: "b.yaml: is a FIFO (named pipe)"})
	add(hostileCase{name: "socket", special: func(t *testing.T, dir string) {
		l, err := net.Listen("unix", filepath.Join(dir, "s.yaml"))
		if err != nil {
			t.Skip(err)
		}
		t.Cleanup(func() { l.Close() })
	}, args: plan(), code: 1, want: "s.yaml: is a socket"})
	for _, dev := range []string{"/dev/zero", "/dev/urandom", "/dev/null", "/dev/random", "/dev/full"} {
		add(hostileCase{name: "device " + dev, args: []string{"plan", "-f", dev}, code: 1, want: dev + ": is a character device"})
		add(hostileCase{name: "--versions-file " + dev, files: file(snap), args: []string{"plan", "-f", "{dir}/s.yaml", "--versions-file", dev}, code: 1, want: "is a character device"})
		add(hostileCase{name: "--kubeconfig " + dev, args: []string{"plan", "--kubeconfig", dev}, code: 1, want: "is a character device"})
		add(hostileCase{name: "snapshot -o " + dev, args: []string{"snapshot", "-f", "{dir}/s.yaml", "-o", dev}, files: file(snap), code: 1, want: "is a character device"})
	}
	add(hostileCase{name: "symlink to /dev/zero", special: func(t *testing.T, dir string) {
		if err := os.Symlink("/dev/zero", filepath.Join(dir, "s.yaml")); err != nil {
			t.Fatal(err)
		}
	}, args: plan(), code: 1, want: "is a character device"})
	add(hostileCase{name: "--versions-file fifo", special: mkfifo("v"), args: []string{"plan", "-f", "{dir}/s.yaml", "--versions-file", "{dir}/v"}, files: file(snap), code: 1, want: "is a FIFO"})
	add(hostileCase{name: "--kubeconfig fifo", special: mkfifo("k"), args: []string{"plan", "--kubeconfig", "{dir}/k"}, code: 1, want: "is a FIFO"})
	add(hostileCase{name: "--kubeconfig directory", args: []string{"plan", "--kubeconfig", "{dir}"}, code: 1, want: "is a directory"})
	add(hostileCase{name: "snapshot -o fifo", special: mkfifo("out"), files: file(snap), args: []string{"snapshot", "-f", "{dir}/s.yaml", "-o", "{dir}/out"}, code: 1, want: "is a FIFO"})
	add(hostileCase{name: "snapshot -o directory", files: file(snap), args: []string{"snapshot", "-f", "{dir}/s.yaml", "-o", "{dir}"}, code: 1, want: "is a directory"})
	add(hostileCase{name: "snapshot -o /dev/stdout", files: file(snap), args: []string{"snapshot", "-f", "{dir}/s.yaml", "-o", "/dev/stdout"}, code: 1, want: "use -o - for standard output"})
	add(hostileCase{name: "empty directory", args: []string{"plan", "-f", "{dir}"}, code: 1, want: "holds no .yaml"})

	// Limits, named with the flag that raises them.
	add(hostileCase{name: "file limit", files: file(snap), args: plan("--max-file-size", "1Ki"), code: 1, want: "larger than the limit of 1Ki bytes per file: raise it with --max-file-size"})
	add(hostileCase{name: "document limit", files: file(snap), args: plan("--max-document-size", "1Ki"), code: 1, want: "larger than the limit of 1Ki bytes per document: raise it with --max-document-size"})
	add(hostileCase{name: "stdin limit", stdin: snap, args: []string{"plan", "-f", "-", "--max-file-size", "2Ki"}, code: 1, want: "<stdin>: larger than the limit of 2Ki bytes per file"})
	add(hostileCase{name: "long JSON line limit", files: file(`{"a": "` + strings.Repeat("x", 4096) + `"}`), args: plan("--max-document-size", "1Ki"), code: 1, want: "--max-document-size"})
	add(hostileCase{name: "versions-file limit", files: map[string]string{"s.yaml": snap, "v": strings.Repeat("v1.36.3\n", 1000)}, args: []string{"plan", "-f", "{dir}/s.yaml", "--versions-file", "{dir}/v", "--max-file-size", "1Ki"}, code: 1, want: "raise the size limit with --max-file-size"})
	add(hostileCase{name: "kubeconfig limit", files: map[string]string{"k": strings.Repeat("#\n", 2000)}, args: []string{"plan", "--kubeconfig", "{dir}/k", "--max-file-size", "1Ki"}, code: 1, want: "larger than the limit of 1Ki"})
	for _, v := range []string{"", "0", "-1", "lots", "1Zi"} {
		add(hostileCase{name: "bad --max-file-size " + v, files: file(snap), args: plan("--max-file-size", v), code: 1, want: "invalid --max-file-size"})
		add(hostileCase{name: "bad --max-document-size " + v, files: file(snap), args: plan("--max-document-size", v), code: 1, want: "invalid --max-document-size"})
	}
	add(hostileCase{name: "versions-file long line", files: map[string]string{"s.yaml": snap, "v": "# " + strings.Repeat("c", 100<<10) + "\nv1.35.4\nv1.36.1\n"}, args: []string{"plan", "-f", "{dir}/s.yaml", "--versions-file", "{dir}/v", "--to", "v1.36.1"}, code: 0})

	// Encodings and streams: read whole.
	add(hostileCase{name: "utf-8 bom", files: file("\xEF\xBB\xBF" + snap), args: plan("--to", "v1.36.1"), code: 0})
	add(hostileCase{name: "utf-16", files: file(utf16LE(snap)), args: plan("--to", "v1.36.1"), code: 0})
	add(hostileCase{name: "utf-16 without bom", files: file(utf16LE(snap)[2:]), args: plan(), code: 1, want: "NUL byte"})
	add(hostileCase{name: "binary", files: file("\x7fELF\x02\x01\x01\x00\x00"), args: plan(), code: 1, want: "NUL byte"})
	add(hostileCase{name: "empty file", files: file(""), args: plan(), code: 1, want: "no Cluster"})
	add(hostileCase{name: "only comments", files: file("# nothing\n---\n# here\n"), args: plan(), code: 1, want: "no Cluster"})
	add(hostileCase{name: "items null", files: file(snap + "---\napiVersion: v1\nkind: List\nitems: null\n"), args: plan("--to", "v1.36.1"), code: 0, want: "List with no items"})
	add(hostileCase{name: "items a mapping", files: file("apiVersion: v1\nkind: List\nitems: {a: b}\n"), args: plan(), code: 1, want: "field items: expected a list"})
	add(hostileCase{name: "scalar", files: file("42\n"), args: plan(), code: 1, want: "expected a Kubernetes object"})
	add(hostileCase{name: "top-level list", files: file("- a\n- b\n"), args: plan(), code: 1, want: "found a list"})
	add(hostileCase{name: "truncated JSON", files: file("{\"apiVersion\": \"v1\",\n \"kind\": "), args: plan(), code: 1, want: "malformed JSON"})
	add(hostileCase{name: "JSON garbage", files: file("{\"a\" 1}"), args: plan(), code: 1, want: "malformed JSON"})
	add(hostileCase{name: "yaml alias bomb", files: file("a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\nh: [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"), args: plan(), code: 1, want: "s.yaml"})
	add(hostileCase{name: "deep nesting", files: file(strings.Repeat("[", 100000) + strings.Repeat("]", 100000)), args: plan(), code: 1, want: "s.yaml"})
	add(hostileCase{name: "tab indentation", files: file("apiVersion: v1\nkind: Namespace\nmetadata:\n\tname: x\n"), args: plan(), code: 1, want: "malformed YAML"})

	// Duplicate keys: an error naming both lines.
	for _, key := range []string{"name: api", "namespace: staging", "version: v1.35.4", "kind: Cluster"} {
		add(hostileCase{name: "duplicate " + key, files: file(mutate(t, snap, key, key+"\n"+strings.Repeat(" ", indentOf(snap, key))+key, 1)), args: plan(), code: 1, want: "duplicate key"})
	}
	add(hostileCase{name: "duplicate key in JSON", files: file(`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"a","name":"b"}}`), args: plan(), code: 1, want: `duplicate key "name": line 1 repeats the one at line 1`})

	// Versions written wrong: invalid, not "has not landed".
	for _, v := range []string{"1.35.4", "v1.35", "v01.35.4", "v1.35.04", "V1.35.4", "v1.35.4.1", "latest", "v1", " v1.35.4x"} {
		add(hostileCase{name: "topology version " + v, files: file(mutate(t, snap, "version: v1.35.4", "version: '"+v+"'", 1)), args: plan(), code: 1, want: "is not a valid Kubernetes version"})
		add(hostileCase{name: "control plane version " + v, files: file(mutate(t, snap, "version: v1.35.4", "version: '"+v+"'", 2)), args: plan(), code: 1, want: "field spec.version"})
	}

	// Identity: names and namespaces.
	add(hostileCase{name: "cluster without namespace", files: file(mutate(t, snap, "  namespace: staging\n", "", 6)), args: plan(), code: 1, want: "field metadata.namespace: missing"})
	add(hostileCase{name: "cluster without name", files: file(mutate(t, snap, "  name: api\n", "", 1)), args: plan(), code: 1, want: "metadata.name"})
	add(hostileCase{name: "object twice", files: map[string]string{"a.yaml": snap, "b.yaml": snap}, args: []string{"plan", "-f", "{dir}"}, code: 1, want: "already read from"})

	// Kinds and groups capi-planner does not know: warnings.
	for _, kind := range []string{"MachineDeploymnet", "Clustr", "MachineSets", "machine"} {
		add(hostileCase{name: "kind typo " + kind, files: file(snap + "---\napiVersion: cluster.x-k8s.io/v1beta2\nkind: " + kind + "\nmetadata: {name: x, namespace: staging}\n"), args: plan("--to", "v1.36.1"), code: 0, want: kind + " is not a kind of cluster.x-k8s.io"})
	}
	for _, group := range []string{"cluster.x-k8.io", "clusters.x-k8s.io", "cluster.k8s.io"} {
		add(hostileCase{name: "group typo " + group, files: file(snap + "---\napiVersion: " + group + "/v1beta2\nkind: MachineDeployment\nmetadata: {name: x, namespace: staging}\n"), args: plan("--to", "v1.36.1"), code: 0, want: "capi-planner reads MachineDeployment objects of group cluster.x-k8s.io"})
	}
	add(hostileCase{name: "unknown CAPI group", files: file(snap + "---\napiVersion: infrastucture.cluster.x-k8s.io/v1beta2\nkind: DockerMachine\nmetadata: {name: x, namespace: staging}\n"), args: plan("--to", "v1.36.1"), code: 0, want: "is not an API group of Cluster API"})
	add(hostileCase{name: "unknown version", files: file(snap + "---\napiVersion: cluster.x-k8s.io/v2\nkind: MachineDrainRule\nmetadata: {name: x, namespace: staging}\n"), args: plan("--to", "v1.36.1"), code: 0, want: "v2 is not a version of MachineDrainRule"})
	add(hostileCase{name: "unsupported version of a planned kind", files: file(mutate(t, snap, "apiVersion: cluster.x-k8s.io/v1beta2\nkind: Cluster", "apiVersion: cluster.x-k8s.io/v1alpha3\nkind: Cluster", 1)), args: plan(), code: 1, want: "v1alpha3 is not supported"})

	// Types.
	for _, v := range []string{"three", "[1]", "{a: 1}", "true", "1.5"} {
		add(hostileCase{name: "replicas " + v, files: file(mutate(t, snap, "replicas: 3", "replicas: "+v, 1)), args: plan(), code: 1, want: "replicas"})
	}

	// Values the API server (the CRD's schema) or CAPI's webhooks refuse, and negative counts.
	add(hostileCase{name: "negative MachineDeployment replicas", files: file(mutate(t, snap, "replicas: 3", "replicas: -3", 6)), args: plan(), code: 1, want: "s.yaml:421 (document 14, MachineDeployment staging/api-md-0): field spec.replicas: -3 is negative"})
	add(hostileCase{name: "maxSurge abc", files: file(mutate(t, snap, "maxSurge: 1", "maxSurge: abc", 2)), args: plan(), code: 1, want: `field spec.rollout.strategy.rollingUpdate.maxSurge: Invalid value: "abc": must be either an int or a percentage`})
	add(hostileCase{name: "maxSurge and maxUnavailable 0", files: file(mutate(t, snap, "maxSurge: 1", "maxSurge: 0", 2)), args: plan(), code: 1, want: "maxUnavailable and maxSurge cannot both be 0; CAPI's MachineDeployment admission webhook"})
	add(hostileCase{name: "strategy type not in the enum", files: file(mutate(t, snap, "type: RollingUpdate", "type: Recreate", 2)), args: plan(), code: 1, want: `field spec.rollout.strategy.type: Unsupported value: "Recreate": supported values: "RollingUpdate", "OnDelete"`})
	add(hostileCase{name: "control plane replicas 0", files: file(mutate(t, snap, "replicas: 3", "replicas: 0", 3)), args: plan(), code: 1, want: "KubeadmControlPlane staging/api-control-plane): field spec.replicas: Forbidden: cannot be less than or equal to 0"})

	// Commands and flags.
	for _, c := range []string{"pln", "plans", "snap", "help-me", "-", "PLAN", "versions"} {
		add(hostileCase{name: "unknown command " + c, args: []string{c}, code: 1, want: "unknown command"})
	}
	for _, f := range []string{"--frobnicate", "-x", "--fail", "--output"} {
		add(hostileCase{name: "plan flag " + f, args: []string{"plan", "-f", "x", f}, code: 1, want: "flag"})
		add(hostileCase{name: "snapshot flag " + f, args: []string{"snapshot", "-o", "-", f}, code: 1, want: "flag"})
		add(hostileCase{name: "global flag " + f, args: []string{f, "plan"}, code: 1, want: "flag"})
	}
	add(hostileCase{name: "--to empty", files: file(snap), args: plan("--to", ""), code: 1, want: `invalid --to ""`})
	add(hostileCase{name: "--to= empty", files: file(snap), args: plan("--to="), code: 1, want: `invalid --to ""`})
	for _, to := range []string{"banana", "v1", "v1.36.x", "v1.36.3.4", "v-1.36.3", "LATEST", "v1.36.3 ", "🙂"} {
		add(hostileCase{name: "--to " + to, files: file(snap), args: plan("--to", to), code: 1, want: "invalid --to"})
	}
	add(hostileCase{name: "--to not in --versions", files: file(snap), args: plan("--to", "v1.36.2"), code: 0, want: "--to v1.36.2 is not among --versions"})
	add(hostileCase{name: "--to newer than the catalog", files: file(snap), args: []string{"plan", "-f", "{dir}/s.yaml", "--to", "v1.36.99"}, code: 0, want: "--to v1.36.99 is newer than every v1.36 release in the release catalog of"})
	for i, f := range []string{"replace:md-9", "replace:api-control-plan", "replace:md-0,nope"} {
		add(hostileCase{name: fmt.Sprintf("--fail-on unknown name %d", i), files: file(snap), args: plan("--fail-on", f), code: 1, want: "invalid --fail-on: no MachineDeployment"})
	}
	for _, f := range []string{"delete", "replace:", "replace:,", "REPLACE"} {
		add(hostileCase{name: "bad --fail-on " + f, files: file(snap), args: plan("--fail-on", f), code: 1, want: "invalid --fail-on"})
	}
	for _, v := range []string{"latest", "v1.36", "x", ",", "v1.36.3,,banana"} {
		add(hostileCase{name: "--versions " + v, files: file(snap), args: []string{"plan", "-f", "{dir}/s.yaml", "--versions", v}, code: 1, want: "--versions"})
		add(hostileCase{name: "--versions-file " + v, files: map[string]string{"s.yaml": snap, "v": v}, args: []string{"plan", "-f", "{dir}/s.yaml", "--versions-file", "{dir}/v"}, code: 1, want: "--versions-file"})
	}
	for _, c := range []string{"api", "/api", "staging/", "a/b/c"} {
		add(hostileCase{name: "--cluster " + c, files: file(snap), args: plan("--cluster", c), code: 1, want: "invalid --cluster"})
	}
	for _, g := range []string{"InPlaceUpdates", "=true", "InPlaceUpdates=maybe"} {
		add(hostileCase{name: "--feature-gates " + g, files: file(snap), args: plan("--feature-gates", g), code: 1, want: "invalid --feature-gates"})
	}
	for _, o := range []string{"xml", "JSONL", "tabel"} {
		add(hostileCase{name: "-o " + o, files: file(snap), args: plan("-o", o), code: 1, want: "invalid -o"})
	}
	for _, l := range []string{"a in (", "!!", "a=b=c"} {
		add(hostileCase{name: "-l " + l, files: file(snap), args: plan("-l", l), code: 1, want: "invalid -l"})
	}
	add(hostileCase{name: "--request-timeout", args: []string{"plan", "--request-timeout", "soon"}, code: 1, want: "request-timeout"})
	add(hostileCase{name: "argument", files: file(snap), args: plan("extra"), code: 1, want: "unexpected argument"})
	add(hostileCase{name: "-f - without stdin data", args: []string{"plan", "-f", "-"}, code: 1, want: "no Cluster"})
	add(hostileCase{name: "missing file", args: []string{"plan", "-f", "{dir}/none.yaml"}, code: 1, want: "no such file"})
	add(hostileCase{name: "snapshot without -o", files: file(snap), args: []string{"snapshot", "-f", "{dir}/s.yaml"}, code: 1, want: "missing -o FILE"})
	return cases
}

func indentOf(s, line string) int {
	i := strings.Index(s, line)
	start := strings.LastIndex(s[:i], "\n") + 1
	return i - start
}

// digest hashes every file under dir, to check that a run changes no input.
func digest(t *testing.T, dir string) string {
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %v\n", p, info.Mode())
		if info.Mode().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			h.Write(data)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

// runBounded runs the binary and fails the test if it takes longer than limit.
func runBounded(t *testing.T, limit time.Duration, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "KUBECONFIG=", "HOME="+t.TempDir())
	cmd.Stdin = strings.NewReader(stdin)
	cmd.WaitDelay = time.Second
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("capi-planner %s did not end within %s", strings.Join(args, " "), limit)
	}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	if strings.Contains(errOut.String(), "goroutine ") || strings.Contains(errOut.String(), "panic") {
		t.Fatalf("capi-planner %s panicked:\n%s", strings.Join(args, " "), errOut.String())
	}
	return out.String(), errOut.String(), code
}

// Nothing a user feeds capi-planner hangs it, crashes it, or passes unread.
func TestHostileInput(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("special files")
	}
	cases := hostileCases(t)
	if len(cases) < 150 {
		t.Fatalf("%d cases, want at least 150", len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if tc.special != nil {
				tc.special(t, dir)
			}
			before := digest(t, dir)
			args := make([]string, len(tc.args))
			for i, a := range tc.args {
				args[i] = strings.ReplaceAll(a, "{dir}", dir)
			}
			stdout, stderr, code := runBounded(t, 30*time.Second, tc.stdin, args...)
			if code != tc.code {
				t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, stdout, stderr)
			}
			var errors, others []string
			for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
				switch {
				case strings.HasPrefix(l, "error: "):
					errors = append(errors, l)
				case l != "" && !strings.HasPrefix(l, "usage: ") && !strings.Contains(l, "level=WARN"):
					others = append(others, l)
				}
			}
			if tc.code == 1 && len(errors) != 1 {
				t.Errorf("want one error line, got:\n%s", stderr)
			}
			if tc.code == 0 && len(errors) > 0 {
				t.Errorf("error lines with exit 0:\n%s", stderr)
			}
			if len(others) > 0 {
				t.Errorf("unexpected lines on stderr:\n%s", strings.Join(others, "\n"))
			}
			if tc.want != "" && !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr does not contain %q:\n%s", tc.want, stderr)
			}
			if tc.code == 1 && stdout != "" {
				t.Errorf("stdout of a failed run:\n%s", stdout)
			}
			if digest(t, dir) != before {
				t.Error("the run changed its input files")
			}
		})
	}
}

// A signal stops a run that is blocked reading: the first SIGINT or SIGTERM
// exits 130 or 143 within a second, with nothing on stdout.
func TestSignals(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("signals")
	}
	for _, tc := range []struct {
		name    string
		signals []os.Signal
		code    int
	}{
		{"SIGINT", []os.Signal{os.Interrupt}, 130},
		{"SIGTERM", []os.Signal{syscall.SIGTERM}, 143},
		{"two SIGINTs", []os.Signal{os.Interrupt, os.Interrupt}, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(binary, "plan", "-f", "-")
			cmd.Env = append(os.Environ(), "KUBECONFIG=", "HOME="+t.TempDir())
			// stdin stays open and empty: the read blocks, as on a terminal.
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			defer stdin.Close()
			var out, errOut bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errOut
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Once more than a pipe buffer was taken in, capi-planner is reading,
			// and its signal handling is set up.
			wrote := make(chan error, 1)
			go func() {
				_, err := io.WriteString(stdin, strings.Repeat("# comment lines only\n", 20000))
				wrote <- err
			}()
			select {
			case err := <-wrote:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(20 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatal("capi-planner does not read its standard input")
			}
			sent := time.Now()
			for _, s := range tc.signals {
				if err := cmd.Process.Signal(s); err != nil {
					t.Fatal(err)
				}
				time.Sleep(50 * time.Millisecond)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatal("capi-planner did not stop after the signal")
			}
			if took := time.Since(sent); took > 2*time.Second {
				t.Errorf("stopped %s after the signal, want about a second at most", took)
			}
			if code := cmd.ProcessState.ExitCode(); code != tc.code {
				t.Errorf("exit code %d, want %d (-1: killed by the signal)\n%s", code, tc.code, errOut.String())
			}
			if out.Len() > 0 {
				t.Errorf("stdout after a signal:\n%s", out.String())
			}
			if tc.code > 0 && !strings.Contains(errOut.String(), "error: interrupted by "+tc.name) {
				t.Errorf("stderr: %s", errOut.String())
			}
		})
	}
}
