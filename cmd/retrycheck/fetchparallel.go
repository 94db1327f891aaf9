package main

import (
	"flag"
	"fmt"
	"strconv"

	"github.com/faultline-go/faultline/adapters/httpx"
)

// parallelFlags are fetch's flags for downloading over several
// connections.
type parallelFlags struct {
	connections string
	perHost     int
}

func (f *parallelFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.connections, "connections", "auto",
		"download over up to `N` connections at once, as ranges of the archive streamed in order into the unpacker; "+
			"auto starts with one and adds more while the total rate grows (only servers that serve ranges of a "+
			"representation with a strong validator get more than one)")
	fs.IntVar(&f.perHost, "connections-per-host", httpx.DefaultMaxConnections, "open at most `N` connections to one host")
}

// apply sets opts from the flags.
func (f *parallelFlags) apply(opts *httpx.Options) error {
	switch f.connections {
	case "auto":
		opts.Connections = httpx.ConnectionsAuto
	default:
		n, err := strconv.Atoi(f.connections)
		if err != nil || n < 1 {
			return fmt.Errorf("--connections %q: want a number from 1 up, or auto", f.connections)
		}
		opts.Connections = n
	}
	if f.perHost < 1 {
		return fmt.Errorf("--connections-per-host %d: want 1 or more", f.perHost)
	}
	opts.MaxConnections = f.perHost
	return nil
}
