package classify

import "net/http"

// codeKinds maps the error codes APIs and runtimes put in their errors —
// an SDK's ErrorCode(), the "code" of a JSON or XML error body, a Node.js
// error's code property — to kinds. A code names the failure whatever the
// status it came with: S3's SlowDown is a 503, AWS's ThrottlingException a
// 400, both throttling.
var codeKinds = map[string]Kind{
	// Throttling: AWS (the codes its SDKs retry as throttles), Azure,
	// Google APIs, Docker registries.
	"Throttling":                             RateLimited,
	"ThrottlingException":                    RateLimited,
	"ThrottledException":                     RateLimited,
	"RequestThrottledException":              RateLimited,
	"RequestThrottled":                       RateLimited,
	"TooManyRequestsException":               RateLimited,
	"ProvisionedThroughputExceededException": RateLimited,
	"TransactionInProgressException":         RateLimited,
	"RequestLimitExceeded":                   RateLimited,
	"BandwidthLimitExceeded":                 RateLimited,
	"LimitExceededException":                 RateLimited,
	"SlowDown":                               RateLimited,
	"PriorRequestNotComplete":                RateLimited,
	"EC2ThrottledException":                  RateLimited,
	"TooManyRequests":                        RateLimited,
	"ServerBusy":                             RateLimited,
	"OperationThrottled":                     RateLimited,
	"rateLimitExceeded":                      RateLimited,
	"userRateLimitExceeded":                  RateLimited,
	"RATE_LIMIT_EXCEEDED":                    RateLimited,
	"TOOMANYREQUESTS":                        RateLimited,
	"RateLimitExceeded":                      RateLimited,
	// The server's own failure, named by a code rather than a status.
	"InternalError":               ServerError,
	"InternalFailure":             ServerError,
	"InternalServerError":         ServerError,
	"InternalServiceError":        ServerError,
	"ServiceUnavailable":          ServerError,
	"ServiceUnavailableException": ServerError,
	"backendError":                ServerError,
	"internalError":               ServerError,
	// Timeouts the server reports.
	"RequestTimeout":          Timeout,
	"RequestTimeoutException": Timeout,
	"OperationTimedOut":       Timeout,
	// Node.js: resolver codes, undici's and the stream module's.
	"ENOTFOUND":                         DNS,
	"EAI_AGAIN":                         DNS,
	"UND_ERR_SOCKET":                    UnexpectedEOF,
	"UND_ERR_CONNECT_TIMEOUT":           Timeout,
	"UND_ERR_HEADERS_TIMEOUT":           Timeout,
	"UND_ERR_BODY_TIMEOUT":              Timeout,
	"UND_ERR_CLOSED":                    ConnectionAborted,
	"ERR_STREAM_PREMATURE_CLOSE":        UnexpectedEOF,
	"ERR_SOCKET_CONNECTION_TIMEOUT":     Timeout,
	"ERR_HTTP2_STREAM_ERROR":            H2Stream,
	"ERR_HTTP2_GOAWAY_SESSION":          H2GoAway,
	"ERR_HTTP2_SESSION_ERROR":           H2Connection,
	"ERR_TLS_CERT_ALTNAME_INVALID":      Certificate,
	"CERT_HAS_EXPIRED":                  Certificate,
	"DEPTH_ZERO_SELF_SIGNED_CERT":       Certificate,
	"SELF_SIGNED_CERT_IN_CHAIN":         Certificate,
	"UNABLE_TO_VERIFY_LEAF_SIGNATURE":   Certificate,
	"UNABLE_TO_GET_ISSUER_CERT_LOCALLY": Certificate,
	"EPROTO":                            TLS,
}

// codeKind returns the kind an API's error code names, or "".
func codeKind(code string) Kind {
	return codeKinds[code]
}

// codeNotFound reports a resolver code that says the name does not exist.
func codeNotFound(code string) bool { return code == "ENOTFOUND" }

// grpcKind maps a gRPC status code to a kind: cancellation and deadlines
// are the kinds they are in any stack; every other code is a grpc_status.
func grpcKind(code string) Kind {
	switch code {
	case "CANCELLED":
		return Canceled
	case "DEADLINE_EXCEEDED":
		return Deadline
	}
	return GRPCStatus
}

// grpcTransient reports whether a gRPC status is worth another try:
// UNAVAILABLE is the code gRPC itself retries, RESOURCE_EXHAUSTED is
// throttling (retry after a pause), ABORTED a conflict the client may try
// again. The rest say the request or the server's state is wrong.
func grpcTransient(code string) bool {
	switch code {
	case "UNAVAILABLE", "RESOURCE_EXHAUSTED", "ABORTED":
		return true
	}
	return false
}

// EquivalentStatus is the status a client treats code as (RFC 9110 §15):
// itself when registered, else the x00 of its class. It is
// Facts.HTTP.Equivalent.
func EquivalentStatus(code int) int {
	if code < 100 || code > 599 || http.StatusText(code) != "" {
		return code
	}
	return code / 100 * 100
}
