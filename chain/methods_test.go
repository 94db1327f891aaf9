package chain_test

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline-go/faultline/chain"
	"github.com/faultline-go/faultline/classify"
	"github.com/faultline-go/faultline/policies"
	"github.com/faultline-go/faultline/policy"
)

// The errors below are built the way the SDKs build theirs — the same
// types by shape, the same methods and fields, the same wrapping — without
// importing them.

// grpc-go: internal/status.Error, whose GRPCStatus returns *status.Status.
type grpcCode uint32

func (c grpcCode) String() string { return "Code(" + strconv.Itoa(int(c)) + ")" }

type grpcStatusValue struct {
	code grpcCode
	msg  string
}

func (s *grpcStatusValue) Code() grpcCode  { return s.code }
func (s *grpcStatusValue) Message() string { return s.msg }

type grpcStatusError struct{ s *grpcStatusValue }

func (e *grpcStatusError) Error() string {
	return fmt.Sprintf("rpc error: code = %v desc = %s", e.s.code, e.s.msg)
}
func (e *grpcStatusError) GRPCStatus() *grpcStatusValue { return e.s }

// aws-sdk-go-v2: smithy.OperationError wraps awshttp.ResponseError (which
// embeds smithyhttp.ResponseError, with HTTPStatusCode), which wraps the
// smithy.GenericAPIError the deserializer made, with ErrorCode.
type smithyResponse struct{ StatusCode int }

type smithyResponseError struct {
	Response *smithyResponse
	Err      error
}

func (e *smithyResponseError) HTTPStatusCode() int { return e.Response.StatusCode }
func (e *smithyResponseError) Error() string {
	return fmt.Sprintf("https response error StatusCode: %d, %v", e.Response.StatusCode, e.Err)
}
func (e *smithyResponseError) Unwrap() error { return e.Err }

type awsResponseError struct {
	*smithyResponseError
	RequestID string
}

func (e *awsResponseError) Error() string {
	return fmt.Sprintf("https response error StatusCode: %d, RequestID: %s, %v", e.Response.StatusCode, e.RequestID, e.Err)
}

type genericAPIError struct{ Code, Message string }

func (e *genericAPIError) Error() string        { return fmt.Sprintf("api error %s: %s", e.Code, e.Message) }
func (e *genericAPIError) ErrorCode() string    { return e.Code }
func (e *genericAPIError) ErrorMessage() string { return e.Message }

type operationError struct {
	ServiceID, OperationName string
	Err                      error
}

func (e *operationError) Error() string {
	return fmt.Sprintf("operation error %s: %s, %v", e.ServiceID, e.OperationName, e.Err)
}
func (e *operationError) Unwrap() error { return e.Err }

// aws retry: a decision carried on the error; smithyhttp.RequestSendError.
type retryableError struct {
	Err   error
	Allow bool
}

func (e *retryableError) Error() string        { return e.Err.Error() }
func (e *retryableError) Unwrap() error        { return e.Err }
func (e *retryableError) RetryableError() bool { return e.Allow }

type requestSendError struct{ Err error }

func (e *requestSendError) Error() string         { return "request send failed, " + e.Err.Error() }
func (e *requestSendError) Unwrap() error         { return e.Err }
func (e *requestSendError) ConnectionError() bool { return true }

// Kubernetes apimachinery: errors.StatusError{ErrStatus metav1.Status}.
type k8sStatus struct {
	Message string
	Reason  string
	Code    int32
}

type k8sStatusError struct{ ErrStatus k8sStatus }

func (e *k8sStatusError) Error() string { return e.ErrStatus.Message }

// Google APIs: googleapi.Error, Code with the response's Header and Body.
type googleapiError struct {
	Code    int
	Message string
	Header  http.Header
	Body    string
}

func (e *googleapiError) Error() string {
	return fmt.Sprintf("googleapi: Error %d: %s", e.Code, e.Message)
}

// Azure: azcore.ResponseError, StatusCode and ErrorCode fields.
type azureResponseError struct {
	ErrorCode   string
	StatusCode  int
	RawResponse *http.Response
}

func (e *azureResponseError) Error() string {
	return fmt.Sprintf("RESPONSE %d: %s", e.StatusCode, e.ErrorCode)
}

// Not a status: a "Code" alone, with no response beside it.
type exitCodeError struct{ Code int }

func (e *exitCodeError) Error() string { return "exit " + strconv.Itoa(e.Code) }

func TestMethodFacts(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		name string
		err  error
		want chain.Attrs
	}{
		{"grpc status", &grpcStatusError{&grpcStatusValue{14, "connection refused"}}, chain.Attrs{GRPCCode: "UNAVAILABLE"}},
		{"grpc OK is no code", &grpcStatusError{&grpcStatusValue{0, "fine"}}, chain.Attrs{}},
		{"grpc nil status", &grpcStatusError{}, chain.Attrs{}},
		{"k8s status", &k8sStatusError{k8sStatus{Message: "too many", Reason: "TooManyRequests", Code: 429}},
			chain.Attrs{HTTPStatus: 429, ErrorCode: "TooManyRequests"}},
		{"googleapi", &googleapiError{Code: 503, Message: "Backend Error", Header: http.Header{}}, chain.Attrs{HTTPStatus: 503}},
		{"azcore", &azureResponseError{ErrorCode: "ServerBusy", StatusCode: 503}, chain.Attrs{HTTPStatus: 503, ErrorCode: "ServerBusy"}},
		{"retryable", &retryableError{errors.New("x"), true}, chain.Attrs{Retryable: &yes}},
		{"not retryable", &retryableError{errors.New("x"), false}, chain.Attrs{Retryable: &no}},
		{"connection", &requestSendError{errors.New("x")}, chain.Attrs{Kind: "connection"}},
		{"a bare Code is no status", &exitCodeError{Code: 404}, chain.Attrs{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := chain.Walk(tt.err)
			require.NotEmpty(t, c.Layers)
			assert.Equal(t, tt.want, c.Layers[0].Attrs)
		})
	}
}

// An S3 throttle as aws-sdk-go-v2 returns it: the status and the API code
// on their own layers, found through the embedded ResponseError.
func TestMethodFactsAWSChain(t *testing.T) {
	err := &operationError{ServiceID: "S3", OperationName: "GetObject", Err: &awsResponseError{
		smithyResponseError: &smithyResponseError{Response: &smithyResponse{StatusCode: 503},
			Err: &genericAPIError{Code: "SlowDown", Message: "Please reduce your request rate."}},
		RequestID: "4442587FB7D0A2F9",
	}}
	c := chain.Walk(err)
	var status, code bool
	for _, l := range c.Layers {
		status = status || l.Attrs.HTTPStatus == 503
		code = code || l.Attrs.ErrorCode == "SlowDown"
	}
	assert.True(t, status, "%+v", c.Layers)
	assert.True(t, code, "%+v", c.Layers)
}

// A method that panics gives nothing and does not stop the walk.
type panickingStatus struct{}

func (panickingStatus) Error() string       { return "boom" }
func (panickingStatus) HTTPStatusCode() int { panic("no response") }

func TestMethodFactsPanic(t *testing.T) {
	c := chain.Walk(panickingStatus{})
	require.Len(t, c.Layers, 1)
	assert.Zero(t, c.Layers[0].Attrs.HTTPStatus)
}

// What the default policy decides on the SDKs' errors: their statuses and
// codes are seen, so a 503, a throttle on a 400 and an UNAVAILABLE retry
// where they used to end as unknown.
func TestMethodFactsDecide(t *testing.T) {
	p := policies.Default()
	tests := []struct {
		name   string
		err    error
		kind   classify.Kind
		action policy.Action
		rule   string
	}{
		{"aws 503 SlowDown", &operationError{"S3", "GetObject", &awsResponseError{
			smithyResponseError: &smithyResponseError{&smithyResponse{503}, &genericAPIError{"SlowDown", "reduce"}}}},
			classify.RateLimited, policy.Retry, "rate-limited"},
		{"aws throttling on a 400", &operationError{"DynamoDB", "Query", &awsResponseError{
			smithyResponseError: &smithyResponseError{&smithyResponse{400}, &genericAPIError{"ThrottlingException", "Rate exceeded"}}}},
			classify.RateLimited, policy.Retry, "rate-limited"},
		{"aws 500 without a code", &operationError{"S3", "GetObject", &awsResponseError{
			smithyResponseError: &smithyResponseError{&smithyResponse{500}, errors.New("internal")}}},
			classify.HTTPStatus, policy.Retry, "http-retryable"},
		{"aws 403", &operationError{"S3", "GetObject", &awsResponseError{
			smithyResponseError: &smithyResponseError{&smithyResponse{403}, &genericAPIError{"AccessDenied", "Access Denied"}}}},
			classify.HTTPStatus, policy.Fail, "http-client-error"},
		{"grpc unavailable", &grpcStatusError{&grpcStatusValue{14, "x"}}, classify.GRPCStatus, policy.Retry, "grpc-retryable"},
		{"grpc not found", &grpcStatusError{&grpcStatusValue{5, "x"}}, classify.GRPCStatus, policy.Fail, "grpc-other"},
		{"k8s 429", &k8sStatusError{k8sStatus{"slow", "TooManyRequests", 429}}, classify.RateLimited, policy.Retry, "rate-limited"},
		{"k8s 503", &k8sStatusError{k8sStatus{"down", "ServiceUnavailable", 503}}, classify.ServerError, policy.Retry, "server-error"},
		{"gcs 503", &googleapiError{Code: 503, Message: "Backend Error", Header: http.Header{}}, classify.HTTPStatus, policy.Retry, "http-retryable"},
		{"azure busy", &azureResponseError{ErrorCode: "ServerBusy", StatusCode: 503}, classify.RateLimited, policy.Retry, "rate-limited"},
		{"send failed, cause unknown", &requestSendError{errors.New("odd")}, classify.Connection, policy.Retry, "transport"},
		{"the SDK says retryable", &retryableError{errors.New("odd"), true}, classify.Unknown, policy.Retry, "sdk-retryable"},
		{"the SDK says no", &retryableError{errors.New("odd"), false}, classify.Unknown, policy.Fail, "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := p.Classify(chain.Walk(tt.err))
			assert.Equal(t, tt.kind, f.Kind)
			d, err := p.Decide(t.Context(), policy.Input{Error: f, State: policy.State{Phase: policy.PhaseHeaders, Attempt: 1,
				TotalExpected: -1, Request: policy.Request{Method: "GET", Idempotent: true}}})
			require.NoError(t, err)
			assert.Equal(t, tt.action, d.Action, d.Reason)
			assert.Equal(t, tt.rule, d.Rule)
		})
	}
}
