package tarx_test

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// TCP servers, zstd decoders and context watchers all start goroutines;
	// none may outlive a test.
	goleak.VerifyTestMain(m)
}
