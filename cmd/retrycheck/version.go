package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/faultline-go/faultline/chain"
	"github.com/faultline-go/faultline/policy"
)

func versionCommand() *command {
	return &command{
		name:    "version",
		args:    "",
		summary: "print the version",
		help: `
Version prints retrycheck's module version, the Go version it was built
with, its platform and the dump schema it reads.

Example:

	$ retrycheck version
	$ retrycheck --version`,
		setup: func(fs *flag.FlagSet, cl *cli) func(context.Context, []string) int {
			fs.BoolVar(&cl.json, "json", false, "print JSON instead of text")
			return func(ctx context.Context, args []string) int {
				if len(args) > 0 {
					return cl.usagef("unexpected argument %q", args[0])
				}
				v := buildVersion()
				if cl.json {
					json.NewEncoder(cl.stdout).Encode(v)
					return exitOK
				}
				fmt.Fprintf(cl.stdout, "retrycheck %s %s %s/%s chain-schema %d dump-schema %d\n", v.Version, v.Go, v.OS, v.Arch, v.ChainSchema, v.DumpSchema)
				return exitOK
			}
		},
	}
}

type versionInfo struct {
	Version     string `json:"version"`
	Go          string `json:"go"`
	OS          string `json:"os"`
	Arch        string `json:"arch"`
	ChainSchema int    `json:"chain_schema"`
	DumpSchema  int    `json:"dump_schema"`
}

func buildVersion() versionInfo {
	v := versionInfo{Version: "(devel)", Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH,
		ChainSchema: chain.SchemaVersion, DumpSchema: policy.DumpSchema}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		v.Version = bi.Main.Version
	}
	return v
}
