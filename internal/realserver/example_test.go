package realserver_test

import (
	"context"
	"fmt"
	"log"

	"github.com/faultline-go/faultline/internal/realserver"
)

// A namespace with nginx in it, behind a middlebox that resets every
// connection after 10 MB, counting what nginx puts on the wire. (Not run
// as a test: it needs root.)
func Example() {
	ctx := context.Background()
	if err := realserver.Check("nginx"); err != nil {
		log.Fatal(err)
	}
	ns, err := realserver.NewNamespace(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer ns.Close()
	srv, err := realserver.StartNginx(ctx, ns, realserver.NginxConfig{Root: "/srv/www"})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	wire, err := ns.CountWire(ctx, srv.Port)
	if err != nil {
		log.Fatal(err)
	}
	if err := ns.ResetAfter(ctx, srv.Port, 10<<20); err != nil {
		log.Fatal(err)
	}

	// Any client run with ns.Command reaches srv.URL; here, curl.
	out, err := ns.Run(ctx, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", srv.URL+"/big.tar.gz")
	fmt.Println(out, err)
	n, _ := wire.Bytes(ctx)
	fmt.Println("nginx sent", n, "bytes")
}
