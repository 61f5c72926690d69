package ecsclients

import "github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/alisdk"

// MaxMessage bounds an error's text where it becomes a condition's message
// and an event's: the clients already clip what an endpoint says, and this
// bounds whatever else an error gathers on its way.
const MaxMessage = 1024

// Bounded is err with its text cut to MaxMessage; errors.Is and errors.As
// still see err.
func Bounded(err error) error {
	if err == nil || len(err.Error()) <= MaxMessage {
		return err
	}
	return boundedError{err: err, text: alisdk.Clip(err.Error(), MaxMessage)}
}

type boundedError struct {
	err  error
	text string
}

func (b boundedError) Error() string { return b.text }
func (b boundedError) Unwrap() error { return b.err }
