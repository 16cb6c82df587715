package connect

import "github.com/moby/moby/client"

// clientPing is a plain /_ping for tests that check an engine answers.
var clientPing = client.PingOptions{}
