package connect

import (
	"errors"

	"github.com/moby/moby/client"
)

var clientPing = client.PingOptions{}

func errorsIs(err, target error) bool { return errors.Is(err, target) }
