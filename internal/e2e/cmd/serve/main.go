// Serve serves one file from faultline's fault server on 127.0.0.1, with
// scripted faults, for benchmarks and demonstrations.
//
// Usage:
//
//	serve [-tls] [-cert FILE] [-script FAULTS] FILE
//
// It prints the URL on the first line of standard output as soon as the
// server listens, and, when it gets SIGINT or SIGTERM, a line counting the
// requests and the body bytes it served:
//
//	url http://127.0.0.1:40671/file
//	served 157341312 body bytes, 4 requests, 157286400 bytes file
//
// FAULTS is a comma-separated list applied to successive requests, the
// first to the first request: KIND or KIND@OFFSET, where KIND is a fault
// of the fault server (reset, reset_stream, goaway, truncate, stall,
// corrupt, status, ignore_range, ...) or "none", and OFFSET is where in
// that response's body it strikes, in bytes or as a percentage of the
// file ("25%"). Requests past the list are served faithfully. So
// "reset@25%,reset@25%,reset@25%" resets a resuming client at 25%, 50%
// and 75% of the file, and a restarting one at 25% each time.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/faultline-go/faultline/faulttest"
)

func main() {
	tls := flag.Bool("tls", false, "serve HTTPS (h2 or http/1.1 by ALPN) with a fresh self-signed certificate")
	cert := flag.String("cert", "", "with -tls, write the server's certificate as PEM to `FILE`, for clients to trust")
	script := flag.String("script", "", "comma-separated `FAULTS` for successive requests: KIND[@OFFSET|@PERCENT%]")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: serve [-tls] [-cert FILE] [-script FAULTS] FILE\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := serve(flag.Arg(0), *tls, *cert, *script); err != nil {
		fmt.Fprintf(os.Stderr, "serve: %v\n", err)
		os.Exit(1)
	}
}

func serve(file string, tls bool, certFile, script string) error {
	content, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	faults, err := parseScript(script, int64(len(content)))
	if err != nil {
		return err
	}
	// Listen for signals before announcing the URL: a client that
	// finishes at once and signals must not kill the process unreported.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	s, err := faulttest.Start(faulttest.Config{Content: content, TLS: tls, Script: faults})
	if err != nil {
		return err
	}
	defer s.Close()
	if tls && certFile != "" {
		if err := writeCert(s, certFile); err != nil {
			return err
		}
	}
	fmt.Printf("url %s\n", s.URL)
	<-sig
	s.Close()
	fmt.Printf("served %d body bytes, %d requests, %d bytes file\n", s.BodyBytes(), s.RequestCount(), len(content))
	return nil
}

// writeCert writes the server's certificate as PEM.
func writeCert(s *faulttest.Server, name string) error {
	return os.WriteFile(name, s.CertPEM(), 0o644)
}
