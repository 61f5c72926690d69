package common

// What the CRDs' CEL rules and bounds admit of a region, an image ID and an
// account ID (the +kubebuilder markers of the parameters), for code that
// writes objects and would rather refuse an ID itself than have the API
// server refuse the object. The markers cannot name Go constants:
// TestPatternsAreTheCRDs keeps the two equal.
const (
	RegionPattern    = `^[a-z]{2,}(-[a-z0-9]+)+$`
	RegionMaxLength  = 64
	ImageIDPattern   = `^m-[a-zA-Z0-9]+$`
	ImageIDMaxLength = 64
	// AccountIDPattern is an Alibaba Cloud account's numeric ID (UID).
	AccountIDPattern   = `^[0-9]+$`
	AccountIDMaxLength = 20
	// MaxAccounts is how many accounts one ImageSharing lists at most.
	MaxAccounts = 500
)
