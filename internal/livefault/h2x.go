//lint:file-ignore SA1019 x/net's http2.Transport is deprecated in favour of net/http, but it is one of the clients whose errors faultline must see through (it has its own error types), so the cases use it on purpose.

package livefault

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"testing"

	"golang.org/x/net/http2"
)

// newXNetTransport returns golang.org/x/net/http2's own Transport, speaking
// unencrypted HTTP/2 with prior knowledge.
func newXNetTransport(t testing.TB, o clientOptions) http.RoundTripper {
	tr := &http2.Transport{
		AllowHTTP: true,
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
		ReadIdleTimeout: o.pingTimeout,
		PingTimeout:     o.pingTimeout,
	}
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}
