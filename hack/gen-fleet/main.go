// Command gen-fleet writes a realistic management-cluster snapshot of any size:
// topology and unmanaged Clusters across namespaces, with their control planes,
// MachineDeployments, MachineSets, MachinePools and Machines. It is what the
// scale benchmarks plan (make bench), and a way to try capi-planner at scale:
//
//	go run ./hack/gen-fleet -clusters 500 -machines 25000 -o fleet.yaml
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/capi-planner/capi-planner/internal/fleet"
)

func main() {
	clusters := flag.Int("clusters", 500, "number of Clusters")
	machines := flag.Int("machines", 25000, "number of Machines, spread over the Clusters")
	namespaces := flag.Int("namespaces", 25, "number of namespaces")
	out := flag.String("o", "fleet.yaml", "file to write")
	flag.Parse()
	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen-fleet:", err)
		os.Exit(1)
	}
	n, err := fleet.WriteFleet(f, fleet.FleetSpec{Clusters: *clusters, Machines: *machines, Namespaces: *namespaces})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen-fleet:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "wrote %s: %d Clusters, %d Machines\n", *out, *clusters, n)
}
