// Command sandbox runs a Cluster API management cluster in a box (internal/capienv)
// in the background, with a demo Cluster, for trying capi-planner without a real
// management cluster. `make sandbox` and `make sandbox-down` call it:
//
//	sandbox up   --dir .sandbox --managers DIR --assets DIR --tools-module hack/tools/capi
//	sandbox down --dir .sandbox
//
// up returns once the demo Cluster is provisioned, leaving the box running; its
// kubeconfig is DIR/kubeconfig and its logs are in DIR/logs.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/capi-planner/capi-planner/internal/capienv"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: sandbox up|down [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	dir := fs.String("dir", ".sandbox", "where the sandbox keeps its kubeconfig, logs and PID")
	var opts capienv.Options
	fs.StringVar(&opts.Managers, "managers", "", "directory of the CAPI managers (hack/capi-managers.sh)")
	fs.StringVar(&opts.Assets, "assets", "", "directory of kube-apiserver and etcd (hack/envtest.sh)")
	fs.StringVar(&opts.ToolsModule, "tools-module", "hack/tools/capi", "the module pinning the CAPI modules")
	_ = fs.Parse(os.Args[2:])
	abs, err := filepath.Abs(*dir)
	if err == nil {
		opts.Dir = abs
		switch os.Args[1] {
		case "up":
			err = up(opts)
		case "serve":
			err = serve(opts)
		case "down":
			err = down(opts.Dir)
		default:
			err = fmt.Errorf("unknown command %q: expected up or down", os.Args[1])
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		os.Exit(1)
	}
}

func pidFile(dir string) string   { return filepath.Join(dir, "sandbox.pid") }
func readyFile(dir string) string { return filepath.Join(dir, "ready") }

// running returns the PID of a running sandbox, or 0.
func running(dir string) int {
	data, err := os.ReadFile(pidFile(dir))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || syscall.Kill(pid, 0) != nil {
		return 0
	}
	return pid
}

// up starts `sandbox serve` in the background, in a session of its own, and
// waits until it reports the demo Cluster ready or dies.
func up(opts capienv.Options) error {
	kubeconfig := filepath.Join(opts.Dir, "kubeconfig")
	if pid := running(opts.Dir); pid != 0 {
		fmt.Printf("The sandbox is already running (PID %d).\n", pid)
		next(kubeconfig)
		return nil
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return err
	}
	_ = os.Remove(readyFile(opts.Dir))
	logPath := filepath.Join(opts.Dir, "sandbox.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(self, "serve", "--dir", opts.Dir, "--managers", opts.Managers, "--assets", opts.Assets, "--tools-module", opts.ToolsModule)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	if err := os.WriteFile(pidFile(opts.Dir), []byte(strconv.Itoa(cmd.Process.Pid)), 0o600); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	fmt.Printf("Starting the sandbox (kube-apiserver, etcd, CAPI %s managers, demo Cluster); its log: %s\n", capienv.Version, logPath)
	for {
		select {
		case err := <-exited:
			data, _ := os.ReadFile(logPath)
			return fmt.Errorf("the sandbox stopped (%v); its log:\n%s", err, data)
		case <-time.After(time.Second):
		}
		if _, err := os.Stat(readyFile(opts.Dir)); err == nil {
			fmt.Printf("The sandbox is ready after %s.\n", time.Since(start).Round(time.Second))
			next(kubeconfig)
			return nil
		}
	}
}

func next(kubeconfig string) {
	fmt.Printf(`
Demo Cluster demo/web at v1.33.4 (ClusterClass versions v1.33.4 ... v1.36.3, CAPI's test extension with in-place updates).
Kubeconfig: %s

Next:
  bin/capi-planner plan --kubeconfig %[1]s --cluster demo/web --to v1.36.3
  bin/capi-planner plan --kubeconfig %[1]s --cluster demo/web --to v1.36.3 --ask-extensions
  make sandbox-down
`, kubeconfig)
}

// serve runs the box until SIGTERM or SIGINT.
func serve(opts capienv.Options) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts.Log = func(format string, args ...any) {
		fmt.Printf("%s %s\n", time.Now().Format(time.TimeOnly), fmt.Sprintf(format, args...))
	}
	env, err := capienv.Start(ctx, opts)
	if err != nil {
		return err
	}
	defer func() {
		opts.Log("stopping")
		if err := env.Stop(); err != nil {
			opts.Log("stopping: %v", err)
		}
		_ = os.Remove(pidFile(opts.Dir))
		_ = os.Remove(readyFile(opts.Dir))
	}()
	if _, err := env.RegisterTestExtension(ctx, capienv.ExtensionOptions{Name: "test-extension"}); err != nil {
		return err
	}
	opts.Log("creating the demo Cluster demo/web")
	if err := env.CreateCluster(ctx, capienv.Demo(), 10*time.Minute); err != nil {
		return err
	}
	opts.Log("demo Cluster provisioned")
	if err := os.WriteFile(readyFile(opts.Dir), nil, 0o600); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}

// down stops a running sandbox and waits until it has stopped.
func down(dir string) error {
	pid := running(dir)
	if pid == 0 {
		fmt.Println("No sandbox is running.")
		return nil
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return err
	}
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if syscall.Kill(pid, 0) != nil {
			fmt.Println("The sandbox has stopped.")
			return nil
		}
	}
	return errors.New("the sandbox did not stop within a minute (PID " + strconv.Itoa(pid) + ")")
}
