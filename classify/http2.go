package classify

// h2CodeTransient reports whether a stream or connection error with the
// given RFC 9113 §7 code is worth another try. Codes that say one side
// broke the protocol will recur; the others (REFUSED_STREAM, CANCEL,
// INTERNAL_ERROR, ENHANCE_YOUR_CALM, …) describe the moment.
func h2CodeTransient(code string) bool {
	switch code {
	case "PROTOCOL_ERROR", "FLOW_CONTROL_ERROR", "FRAME_SIZE_ERROR", "COMPRESSION_ERROR",
		"HTTP_1_1_REQUIRED", "INADEQUATE_SECURITY":
		return false
	}
	return true
}
