// Command etcd is etcd v3.6.8 for the envtest tier (`go install` of etcd's own
// module is refused because its go.mod has replace directives).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
