package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/faultline-go/faultline/adapters/httpx"
	"github.com/faultline-go/faultline/internal/redact"
)

// parallelFlags are fetch's flags for downloading over several
// connections and from mirrors.
type parallelFlags struct {
	connections string
	perHost     int
	mirrors     []string
}

func (f *parallelFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.connections, "connections", "auto",
		"download over up to `N` connections at once, as ranges of the archive streamed in order into the unpacker; "+
			"auto starts with one and adds more while the total rate grows (only servers that serve ranges of a "+
			"representation with a strong validator get more than one)")
	fs.IntVar(&f.perHost, "connections-per-host", httpx.DefaultMaxConnections, "open at most `N` connections to one host")
	fs.Func("mirror", "another `URL` of the same archive, tried when URL fails in a way another host may not "+
		"(repeatable); with --sha256, ranges come from every mirror, weighted by their rate, and the hash proves the whole",
		func(s string) error {
			if !strings.HasPrefix(s, "http://") && !strings.HasPrefix(s, "https://") {
				return fmt.Errorf("want http:// or https://, got %q", redact.URL(s))
			}
			f.mirrors = append(f.mirrors, s)
			return nil
		})
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
	opts.Mirrors = f.mirrors
	return nil
}

// mirrorSummary is what one URL of a fetch with mirrors delivered.
type mirrorSummary struct {
	URL      string `json:"url"`
	Bytes    int64  `json:"bytes"`
	Failures int    `json:"failures,omitempty"`
	Dropped  bool   `json:"dropped,omitempty"`
	Resting  bool   `json:"resting,omitempty"`
}

func mirrorSummaries(ms []httpx.MirrorStats) []mirrorSummary {
	var out []mirrorSummary
	for _, m := range ms {
		out = append(out, mirrorSummary{URL: m.URL, Bytes: m.Bytes, Failures: m.Failures, Dropped: m.Dropped, Resting: m.Resting})
	}
	return out
}

// mirrorsText prints a line for each URL of a fetch with mirrors.
func (cl *cli) mirrorsText(ms []mirrorSummary) {
	for i, m := range ms {
		what := "mirror"
		if i == 0 {
			what = "URL"
		}
		state := ""
		switch {
		case m.Dropped:
			state = " (dropped)"
		case m.Resting:
			state = " (resting)"
		}
		fmt.Fprintf(cl.stdout, "%s %s: %s%s\n", what, m.URL, formatBytes(m.Bytes), state)
	}
}
