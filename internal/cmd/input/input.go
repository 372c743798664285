// Package input is where commands get a management cluster's state from:
// YAML snapshots (-f) or a live management cluster (kubeconfig), with the
// kubectl-style flags that select it.
package input

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/urfave/cli/v2"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/rest"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/capi-planner/capi-planner/internal/iostreams"
	"github.com/capi-planner/capi-planner/internal/kube"
	"github.com/capi-planner/capi-planner/internal/safefile"
	"github.com/capi-planner/capi-planner/state"
	"github.com/capi-planner/capi-planner/state/live"
	"github.com/capi-planner/capi-planner/state/snapshot"
)

// Options select the state to read.
type Options struct {
	// Filenames are snapshot files or directories; empty reads a live cluster.
	Filenames []string
	Kube      kube.Flags
	// Namespace and AllNamespaces follow kubectl: live, neither means the
	// context's namespace; offline, neither means every namespace.
	Namespace     string
	AllNamespaces bool
	// Selector filters Clusters by label.
	Selector labels.Selector
	// MaxFileSize and MaxDocumentSize bound what is read from snapshots and files given in flags.
	MaxFileSize, MaxDocumentSize int64
}

// KubeFlags are the kubectl-style connection flags.
func KubeFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "kubeconfig", Usage: "kubeconfig of the management cluster (default: KUBECONFIG, then ~/.kube/config)"},
		&cli.StringFlag{Name: "context", Usage: "kubeconfig context to use"},
		&cli.DurationFlag{Name: "request-timeout", Value: 30 * time.Second, Usage: "timeout of each request to the API server"},
	}
}

// KubeFromFlags reads the connection flags.
func KubeFromFlags(c *cli.Context, maxFileSize int64) kube.Flags {
	return kube.Flags{Kubeconfig: c.String("kubeconfig"), Context: c.String("context"), RequestTimeout: c.Duration("request-timeout"), LimitFlag: "--" + MaxFileSizeFlag, MaxFileSize: maxFileSize}
}

// Flags are the input flags shared by the commands that read state.
func Flags() []cli.Flag {
	return append(KubeFlags(),
		&cli.StringSliceFlag{Name: "filename", Aliases: []string{"f"}, Usage: "read a snapshot: a file, a directory (read recursively) or - for stdin; repeatable. Without -f, the live management cluster is read"},
		&cli.StringFlag{Name: "namespace", Aliases: []string{"n"}, Usage: "read the Clusters of this namespace"},
		&cli.BoolFlag{Name: "all-namespaces", Aliases: []string{"A"}, Usage: "read every namespace (the default for snapshots)"},
		&cli.StringFlag{Name: "selector", Aliases: []string{"l"}, Usage: "label selector on Clusters, e.g. env=prod"},
		&cli.StringFlag{Name: MaxFileSizeFlag, Value: safefile.Size(snapshot.DefaultMaxFileSize), Usage: "largest file read (snapshots, --kubeconfig, --versions-file), e.g. 4Gi"},
		&cli.StringFlag{Name: MaxDocumentSizeFlag, Value: safefile.Size(snapshot.DefaultMaxDocumentSize), Usage: "largest YAML or JSON document of a snapshot, e.g. 1Gi"},
	)
}

// The flags that raise the input limits.
const (
	MaxFileSizeFlag     = "max-file-size"
	MaxDocumentSizeFlag = "max-document-size"
)

// ParseSize reads a size flag, a positive Kubernetes quantity.
func ParseSize(c *cli.Context, flag string) (int64, error) {
	q, err := resource.ParseQuantity(c.String(flag))
	if err != nil || q.Sign() <= 0 {
		return 0, fmt.Errorf("invalid --%s %q: expected a positive size in bytes such as 512Mi or 2Gi", flag, c.String(flag))
	}
	return q.Value(), nil
}

// FromFlags validates the input flags.
func FromFlags(c *cli.Context) (Options, error) {
	o := Options{
		Filenames:     c.StringSlice("filename"),
		Kube:          KubeFromFlags(c, 0),
		Namespace:     c.String("namespace"),
		AllNamespaces: c.Bool("all-namespaces"),
	}
	var err error
	if o.MaxFileSize, err = ParseSize(c, MaxFileSizeFlag); err != nil {
		return o, err
	}
	o.Kube.MaxFileSize = o.MaxFileSize
	if o.MaxDocumentSize, err = ParseSize(c, MaxDocumentSizeFlag); err != nil {
		return o, err
	}
	if o.Namespace != "" && o.AllNamespaces {
		return o, errors.New("conflicting flags -n/--namespace and -A/--all-namespaces: use one")
	}
	if len(o.Filenames) > 0 && (o.Kube.Kubeconfig != "" || o.Kube.Context != "") {
		return o, errors.New("conflicting flags -f and --kubeconfig/--context: read a snapshot or a live cluster, not both")
	}
	if s := c.String("selector"); s != "" {
		sel, err := labels.Parse(s)
		if err != nil {
			return o, fmt.Errorf("invalid -l %q: %v", s, err)
		}
		o.Selector = sel
	}
	if len(o.Filenames) == 0 && o.Kube.Kubeconfig == "" && !kube.Available() {
		return o, errors.New("no input: pass a snapshot with -f FILE|DIR|-, or a management cluster with --kubeconfig (or set KUBECONFIG)")
	}
	return o, nil
}

// Live reports whether the options read a live cluster.
func (o Options) Live() bool { return len(o.Filenames) == 0 }

// Loaded is the state read, and how to reach its cluster when it is live.
type Loaded struct {
	State *state.State
	// REST reaches the live management cluster; nil for snapshots.
	REST *rest.Config
	// Namespace is the namespace the Clusters were read in; "" for all.
	Namespace string
	// Unread are the kinds that could not be read.
	Unread []string
}

// Load reads the state. Forbidden kinds are logged as warnings.
func (o Options) Load(ctx context.Context, ios *iostreams.IOStreams, logger *slog.Logger) (*Loaded, error) {
	if !o.Live() {
		st, err := snapshot.Read(ctx, o.Filenames, snapshot.Options{Stdin: ios.In, Logger: logger, MaxFileSize: o.MaxFileSize, MaxDocumentSize: o.MaxDocumentSize})
		if err != nil {
			return nil, explainLimit(err)
		}
		if o.Selector != nil {
			all := len(st.Clusters)
			if st.Clusters = filterClusters(st, o.Selector); len(st.Clusters) == 0 && all > 0 {
				return nil, fmt.Errorf("no Cluster matches -l %s (%d Clusters read)", o.Selector, all)
			}
		}
		return &Loaded{State: st, Namespace: o.Namespace}, nil
	}
	cfg, err := o.Kube.Load()
	if err != nil {
		return nil, err
	}
	ns := o.Namespace
	switch {
	case o.AllNamespaces:
		ns = ""
	case ns == "":
		ns = cfg.Namespace
	}
	res, err := live.Read(ctx, cfg.REST, live.Options{Namespace: ns, ClusterSelector: o.Selector, Logger: logger})
	if unauthorized := (*live.UnauthorizedError)(nil); errors.As(err, &unauthorized) {
		return nil, fmt.Errorf("%w: the kubeconfig's credentials for it are wrong or expired: check --context, or log in again", err)
	}
	if err != nil {
		return nil, err
	}
	loaded := &Loaded{State: res.State, REST: cfg.REST, Namespace: ns}
	for _, w := range res.Warnings {
		logger.Warn(w.String())
		loaded.Unread = append(loaded.Unread, w.Kind)
	}
	return loaded, nil
}

// explainLimit names the flag that raises a limit a read hit.
func explainLimit(err error) error {
	var le *snapshot.LimitError
	if !errors.As(err, &le) {
		return err
	}
	flag := MaxFileSizeFlag
	if le.Document {
		flag = MaxDocumentSizeFlag
	}
	return fmt.Errorf("%w: raise it with --%s if the input is right", err, flag)
}

func filterClusters(st *state.State, sel labels.Selector) []*clusterv1.Cluster {
	var out []*clusterv1.Cluster
	for _, c := range st.Clusters {
		if sel.Matches(labels.Set(c.Labels)) {
			out = append(out, c)
		}
	}
	return out
}
